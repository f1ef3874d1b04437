-- Flow control: concurrency and rate limits per task queue and per fairness
-- key, kept in durable.task_queue_limits and durable.fairness_keys
-- (schema/40_flow.sql) and enforced by poll_activity_tasks, which calls
-- durable._pick_limited_activity_tasks for a queue that has limits. A change
-- takes effect on the next poll.

CREATE OR REPLACE FUNCTION durable._check_limit(value float8, field text, integral boolean) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value IS NOT NULL AND (value <= 0 OR value > 1000000 OR value = 'NaN'
                              OR (integral AND value <> trunc(value))) THEN
        PERFORM durable._bad_input(format('%s must be %s from %s to 1000000, or NULL for no limit', field,
                                          CASE WHEN integral THEN 'an integer' ELSE 'a number' END,
                                          CASE WHEN integral THEN '1' ELSE 'above 0' END),
            format('Got %s.', value), 'To stop a queue, pause its workflows; a limit of 0 is not a pause.');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_limit_names(task_queue text, namespace text, fairness_key text DEFAULT '')
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF coalesce(task_queue, '') = '' OR namespace IS NULL OR fairness_key IS NULL THEN
        PERFORM durable._bad_input('task_queue must be non-empty, namespace and fairness_key non-NULL');
    END IF;
    PERFORM durable._check_path_name(durable._check_name(task_queue, 'task_queue'), 'task_queue');
    PERFORM durable._check_name(fairness_key, 'fairness_key');
END
$$;

-- Sets every limit of a queue at once (NULL: no limit); all NULL removes the
-- queue's limits, and its polls take the unlimited path again.
CREATE OR REPLACE FUNCTION durable.set_task_queue_limits(task_queue text, max_concurrent integer DEFAULT NULL,
                                                         rate_per_second float8 DEFAULT NULL,
                                                         key_max_concurrent integer DEFAULT NULL,
                                                         key_rate_per_second float8 DEFAULT NULL,
                                                         namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    now timestamptz := durable.now();
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_limit_names(task_queue, namespace);
    PERFORM durable._check_limit(max_concurrent, 'max_concurrent', true);
    PERFORM durable._check_limit(rate_per_second, 'rate_per_second', false);
    PERFORM durable._check_limit(key_max_concurrent, 'key_max_concurrent', true);
    PERFORM durable._check_limit(key_rate_per_second, 'key_rate_per_second', false);
    IF max_concurrent IS NULL AND rate_per_second IS NULL AND key_max_concurrent IS NULL
       AND key_rate_per_second IS NULL
       AND NOT EXISTS (SELECT 1 FROM durable.fairness_keys k
                        WHERE k.namespace = namespace AND k.task_queue = task_queue AND k.configured) THEN
        DELETE FROM durable.task_queue_limits l WHERE l.namespace = namespace AND l.task_queue = task_queue;
        DELETE FROM durable.fairness_keys k WHERE k.namespace = namespace AND k.task_queue = task_queue;
        RETURN;
    END IF;
    -- a new bucket starts full; a changed rate keeps what the bucket holds,
    -- at most its new size
    INSERT INTO durable.task_queue_limits AS l (namespace, task_queue, max_concurrent, rate_per_second,
                                                key_max_concurrent, key_rate_per_second, tokens, refilled_at, updated_at)
    VALUES (namespace, task_queue, max_concurrent, rate_per_second, key_max_concurrent, key_rate_per_second,
            greatest(rate_per_second, 1), now, now)
    ON CONFLICT ON CONSTRAINT task_queue_limits_pkey DO UPDATE
       SET max_concurrent = EXCLUDED.max_concurrent, rate_per_second = EXCLUDED.rate_per_second,
           key_max_concurrent = EXCLUDED.key_max_concurrent, key_rate_per_second = EXCLUDED.key_rate_per_second,
           tokens = least(l.tokens, greatest(EXCLUDED.rate_per_second, 1)), updated_at = now;
END
$$;

-- Sets one fairness key's own limits in a queue (NULL: the queue's key_
-- default); both NULL forget them.
CREATE OR REPLACE FUNCTION durable.set_fairness_key_limits(task_queue text, fairness_key text,
                                                           max_concurrent integer DEFAULT NULL,
                                                           rate_per_second float8 DEFAULT NULL,
                                                           namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    now timestamptz := durable.now();
    configured boolean := max_concurrent IS NOT NULL OR rate_per_second IS NOT NULL;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    PERFORM durable._check_limit_names(task_queue, namespace, fairness_key);
    PERFORM durable._check_limit(max_concurrent, 'max_concurrent', true);
    PERFORM durable._check_limit(rate_per_second, 'rate_per_second', false);
    IF configured THEN
        -- the queue needs a row for the poll to look at its keys
        INSERT INTO durable.task_queue_limits (namespace, task_queue, updated_at)
        VALUES (namespace, task_queue, now) ON CONFLICT DO NOTHING;
    END IF;
    -- the queue's row before its keys', in the order a poll locks them
    PERFORM 1 FROM durable.task_queue_limits l
     WHERE l.namespace = namespace AND l.task_queue = task_queue FOR UPDATE;
    INSERT INTO durable.fairness_keys AS k (namespace, task_queue, fairness_key, max_concurrent, rate_per_second,
                                            configured, tokens, refilled_at)
    VALUES (namespace, task_queue, fairness_key, max_concurrent, rate_per_second, configured,
            greatest(rate_per_second, 1), now)
    ON CONFLICT ON CONSTRAINT fairness_keys_pkey DO UPDATE
       SET max_concurrent = EXCLUDED.max_concurrent, rate_per_second = EXCLUDED.rate_per_second,
           configured = EXCLUDED.configured,
           tokens = least(k.tokens, greatest(EXCLUDED.rate_per_second, 1));
    -- a queue left with no limit at all goes back to the unlimited poll
    DELETE FROM durable.task_queue_limits l
     WHERE l.namespace = namespace AND l.task_queue = task_queue
       AND l.max_concurrent IS NULL AND l.rate_per_second IS NULL
       AND l.key_max_concurrent IS NULL AND l.key_rate_per_second IS NULL
       AND NOT EXISTS (SELECT 1 FROM durable.fairness_keys k
                        WHERE k.namespace = namespace AND k.task_queue = task_queue AND k.configured);
    IF FOUND THEN
        DELETE FROM durable.fairness_keys k WHERE k.namespace = namespace AND k.task_queue = task_queue;
    END IF;
END
$$;

-- Every limit of a namespace's queues with what is in use now: a row per
-- queue (fairness_key NULL) and one per key with limits of its own.
CREATE OR REPLACE FUNCTION durable.list_task_queue_limits(namespace text DEFAULT 'default')
RETURNS TABLE (task_queue text, fairness_key text, max_concurrent integer, rate_per_second float8,
               key_max_concurrent integer, key_rate_per_second float8, leased bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT durable._authorize('reader', NULL, $1);
    SELECT l.task_queue, NULL::text, l.max_concurrent, l.rate_per_second, l.key_max_concurrent,
           l.key_rate_per_second,
           (SELECT count(*) FROM durable.activity_tasks a
             WHERE a.namespace = $1 AND a.task_queue = l.task_queue AND a.state = 'STARTED')
      FROM durable.task_queue_limits l WHERE l.namespace = $1
    UNION ALL
    SELECT k.task_queue, k.fairness_key, k.max_concurrent, k.rate_per_second, NULL, NULL,
           (SELECT count(*) FROM durable.activity_tasks a
             WHERE a.namespace = $1 AND a.task_queue = k.task_queue AND a.fairness_key = k.fairness_key
               AND a.state = 'STARTED')
      FROM durable.fairness_keys k WHERE k.namespace = $1 AND k.configured
     ORDER BY 1, 2 NULLS FIRST
$$;

-- A token bucket of `rate` per second holding at most one second's worth
-- (at least one token), refilled from `refilled_at` to `now`. A poll's `now`
-- is when its transaction began, which can be before the last refill of a
-- poll that took the queue's lock first: that adds nothing, and refilled_at
-- never moves back, so no interval is counted twice.
CREATE OR REPLACE FUNCTION durable._refill(tokens float8, refilled_at timestamptz, rate float8, now timestamptz)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT least(greatest($3, 1),
                 $1 + $3 * greatest(extract(epoch FROM $4 - coalesce($2, $4))::float8, 0))
$$;

-- The limited poll: which ready tasks of the queue (at most max_tasks) may
-- start now, locked for the caller, with the queue's and keys' buckets
-- charged for them. The queue's limits row is locked first, so that polls of
-- one limited queue count leases one after another and never together exceed
-- a limit. Tasks are taken in the order of the unlimited poll (priority, then
-- virtual time: api/41_priority.sql), skipping keys at their limits: each key
-- that may start a task offers its next one, and the lowest of those goes.
-- Returns NULL when the queue has no limits (the caller polls as before).
CREATE OR REPLACE FUNCTION durable._pick_limited_activity_tasks(namespace text, task_queue text, max_tasks integer,
                                                                now timestamptz)
RETURNS bigint[] LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    l durable.task_queue_limits;
    want integer := max_tasks;
    picked bigint[] := '{}';
    keyed boolean;
    k record;
    allowance float8;
    keys text[] := '{}';        -- keys that may start a task now
    allowances float8[] := '{}'; -- how many more each may start in this poll
    refilled jsonb := '{}';     -- key -> its bucket before this poll's charge
    -- each key's next ready task, once looked up (NULL: not yet)
    head_id bigint[] := '{}';
    head_priority smallint[] := '{}';
    head_pass float8[] := '{}';
    h record;
    best integer;
    i integer;
    wake_at timestamptz;        -- when a bucket that held back a ready task has a token
BEGIN
    SELECT * INTO l FROM durable.task_queue_limits t
     WHERE t.namespace = namespace AND t.task_queue = task_queue FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF l.max_concurrent IS NOT NULL THEN
        want := least(want, l.max_concurrent - (SELECT count(*) FROM durable.activity_tasks a
                                                 WHERE a.namespace = namespace AND a.task_queue = task_queue
                                                   AND a.state = 'STARTED'));
    END IF;
    IF l.rate_per_second IS NOT NULL THEN
        l.tokens := durable._refill(l.tokens, l.refilled_at, l.rate_per_second, now);
        want := least(want, floor(l.tokens)::integer);
    END IF;
    keyed := l.key_max_concurrent IS NOT NULL OR l.key_rate_per_second IS NOT NULL
             OR EXISTS (SELECT 1 FROM durable.fairness_keys f
                         WHERE f.namespace = namespace AND f.task_queue = task_queue AND f.configured);
    IF want > 0 AND NOT keyed THEN
        picked := ARRAY(SELECT a.task_id FROM durable.activity_tasks a
                         WHERE a.namespace = namespace AND a.task_queue = task_queue AND a.state = 'SCHEDULED'
                         ORDER BY a.priority, a.pass, a.task_id LIMIT want FOR UPDATE SKIP LOCKED);
    ELSIF want > 0 THEN
        -- each key with ready tasks (found by skipping through the index, one
        -- probe per key), its limits and what it may start now
        FOR k IN
            WITH RECURSIVE ready(fairness_key) AS (
                (SELECT a.fairness_key FROM durable.activity_tasks a
                  WHERE a.namespace = namespace AND a.task_queue = task_queue AND a.state = 'SCHEDULED'
                  ORDER BY a.fairness_key LIMIT 1)
                UNION ALL
                SELECT (SELECT a.fairness_key FROM durable.activity_tasks a
                         WHERE a.namespace = namespace AND a.task_queue = task_queue AND a.state = 'SCHEDULED'
                           AND a.fairness_key > r.fairness_key
                         ORDER BY a.fairness_key LIMIT 1)
                  FROM ready r WHERE r.fairness_key IS NOT NULL
            )
            SELECT r.fairness_key, f.tokens, f.refilled_at,
                   CASE WHEN f.configured THEN coalesce(f.max_concurrent, l.key_max_concurrent)
                        ELSE l.key_max_concurrent END AS max_concurrent,
                   CASE WHEN f.configured THEN coalesce(f.rate_per_second, l.key_rate_per_second)
                        ELSE l.key_rate_per_second END AS rate
              FROM ready r
              LEFT JOIN durable.fairness_keys f
                ON f.namespace = namespace AND f.task_queue = task_queue AND f.fairness_key = r.fairness_key
             WHERE r.fairness_key IS NOT NULL
        LOOP
            allowance := want;
            IF k.max_concurrent IS NOT NULL THEN
                allowance := least(allowance, k.max_concurrent - (
                    SELECT count(*) FROM durable.activity_tasks a
                     WHERE a.namespace = namespace AND a.task_queue = task_queue
                       AND a.fairness_key = k.fairness_key AND a.state = 'STARTED'));
            END IF;
            IF k.rate IS NOT NULL THEN
                -- a key not seen before starts with a full bucket
                refilled := refilled || jsonb_build_object(k.fairness_key,
                    durable._refill(coalesce(k.tokens, greatest(k.rate, 1)), k.refilled_at, k.rate, now));
                allowance := least(allowance, floor((refilled ->> k.fairness_key)::float8));
                IF (refilled ->> k.fairness_key)::float8 < 1 THEN
                    wake_at := least(wake_at, now + make_interval(
                        secs => (1 - (refilled ->> k.fairness_key)::float8) / k.rate));
                END IF;
            END IF;
            IF allowance >= 1 THEN
                keys := keys || k.fairness_key;
                allowances := allowances || allowance;
                head_id := head_id || NULL::bigint;
                head_priority := head_priority || NULL::smallint;
                head_pass := head_pass || NULL::float8;
            END IF;
        END LOOP;
        -- merge: the lowest (priority, pass, task_id) of the keys' next tasks
        -- goes, until the poll has what it wants or no key has a task it may
        -- start (a key's next task is locked when looked up, so it is ours)
        WHILE cardinality(picked) < want LOOP
            best := NULL;
            FOR i IN 1 .. cardinality(keys) LOOP
                CONTINUE WHEN allowances[i] < 1;
                IF head_id[i] IS NULL THEN
                    SELECT a.task_id, a.priority, a.pass INTO h FROM durable.activity_tasks a
                     WHERE a.namespace = namespace AND a.task_queue = task_queue AND a.state = 'SCHEDULED'
                       AND a.fairness_key = keys[i] AND a.task_id <> ALL (picked)
                     ORDER BY a.priority, a.pass, a.task_id LIMIT 1 FOR UPDATE SKIP LOCKED;
                    IF NOT FOUND THEN
                        allowances[i] := 0;
                        CONTINUE;
                    END IF;
                    head_id[i] := h.task_id;
                    head_priority[i] := h.priority;
                    head_pass[i] := h.pass;
                END IF;
                IF best IS NULL OR (head_priority[i], head_pass[i], head_id[i])
                                   < (head_priority[best], head_pass[best], head_id[best]) THEN
                    best := i;
                END IF;
            END LOOP;
            EXIT WHEN best IS NULL;
            picked := picked || head_id[best];
            allowances[best] := allowances[best] - 1;
            head_id[best] := NULL;
        END LOOP;
        -- charge each served key's bucket and note when it was served
        INSERT INTO durable.fairness_keys AS f (namespace, task_queue, fairness_key, tokens, refilled_at,
                                                dispatched_at)
        SELECT namespace, task_queue, a.fairness_key,
               coalesce((refilled ->> a.fairness_key)::float8 - count(*), 0), now, now
          FROM durable.activity_tasks a WHERE a.task_id = ANY (picked)
         GROUP BY a.fairness_key
        ON CONFLICT ON CONSTRAINT fairness_keys_pkey DO UPDATE
           SET tokens = EXCLUDED.tokens, refilled_at = greatest(f.refilled_at, now),
               dispatched_at = greatest(f.dispatched_at, now);
    END IF;
    IF l.rate_per_second IS NOT NULL AND l.tokens - cardinality(picked) < 1 THEN
        wake_at := least(wake_at, now + make_interval(
            secs => (1 - (l.tokens - cardinality(picked))) / l.rate_per_second));
    END IF;
    -- an empty bucket with tasks still waiting: have the timer worker wake
    -- the queue's workers when it holds a token again
    IF wake_at IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM durable.activity_tasks a
            WHERE a.namespace = namespace AND a.task_queue = task_queue AND a.state = 'SCHEDULED'
              AND a.task_id <> ALL (picked)) THEN
        wake_at := NULL;
    END IF;
    IF l.rate_per_second IS NOT NULL OR wake_at IS NOT NULL OR l.wake_at IS NOT NULL THEN
        UPDATE durable.task_queue_limits t
           SET tokens = CASE WHEN l.rate_per_second IS NULL THEN t.tokens ELSE l.tokens - cardinality(picked) END,
               refilled_at = greatest(t.refilled_at, now), wake_at = wake_at
         WHERE t.namespace = namespace AND t.task_queue = task_queue;
        IF wake_at IS NOT NULL THEN
            PERFORM durable._wake_at(wake_at);
        END IF;
    END IF;
    RETURN picked;
END
$$;

-- Leases the tasks the limited poll picked (and locked), as the unlimited
-- poll in poll_activity_tasks leases its own: keep the two alike.
CREATE OR REPLACE FUNCTION durable._lease_activity_tasks(picked bigint[], identity text, now timestamptz)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, activity_id text, activity_type text,
               input jsonb, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb, last_failure jsonb)
LANGUAGE sql AS $$
    WITH leased AS (
        UPDATE durable.activity_tasks a
           SET state = 'STARTED', fence = a.fence + 1, identity = $2, started_at = $3,
               last_heartbeat_at = NULL,
               timeout_at = least($3 + a.start_to_close_timeout,
                                  a.scheduled_at + a.schedule_to_close_timeout,
                                  $3 + a.heartbeat_timeout)
         WHERE a.task_id = ANY ($1)
        RETURNING a.*
    )
    SELECT 'a' || l.task_id || '.' || l.fence, l.workflow_id, l.run_id, l.activity_id, l.activity_type,
           l.input, l.attempt, l.scheduled_at, l.started_at, durable._wake_at(l.timeout_at),
           durable._seconds(l.heartbeat_timeout), l.heartbeat_details, l.last_failure
      FROM leased l ORDER BY l.task_id
$$;

COMMENT ON FUNCTION durable.set_task_queue_limits(text, integer, float8, integer, float8, text) IS
    'Limits a task queue''s activity tasks: at most max_concurrent leased at once and rate_per_second started, across all workers; key_ values apply to each fairness key. NULL: no limit; all NULL removes them. Takes effect on the next poll.';
COMMENT ON FUNCTION durable.set_fairness_key_limits(text, text, integer, float8, text) IS
    'One fairness key''s own concurrency and rate limits in a task queue (NULL: the queue''s key default); both NULL forget them.';
COMMENT ON FUNCTION durable.list_task_queue_limits(text) IS
    'The limits of a namespace''s task queues (fairness_key NULL) and of their keys, with the activity tasks leased now.';

GRANT EXECUTE ON FUNCTION
    durable.set_task_queue_limits(text, integer, float8, integer, float8, text),
    durable.set_fairness_key_limits(text, text, integer, float8, text),
    durable.list_task_queue_limits(text)
TO durable_operator;

-- The timer worker's part (from fire_due): notifies the queues whose buckets
-- have a token again for tasks that were waiting, so idle workers poll.
CREATE OR REPLACE FUNCTION durable._wake_limited_queues(now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    q record;
BEGIN
    FOR q IN UPDATE durable.task_queue_limits l SET wake_at = NULL
              WHERE l.wake_at <= now RETURNING l.namespace, l.task_queue LOOP
        PERFORM durable._notify('activity', q.namespace, q.task_queue);
    END LOOP;
END
$$;

-- A lease that ends frees a slot of a limited queue: wake its workers.
CREATE OR REPLACE FUNCTION durable._slot_freed(namespace text, task_queue text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM durable.task_queue_limits l
                WHERE l.namespace = $1 AND l.task_queue = $2) THEN
        PERFORM durable._notify('activity', $1, $2);
    END IF;
END
$$;
