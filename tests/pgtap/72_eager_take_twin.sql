-- durable._eager_take and _eager_taken in C (pgext/src/eager.c), against
-- the plpgsql they replaced (api/72_eager.sql before session 14), kept here
-- as twins: for each offer, arming, run and queue state, both answer the
-- same identity (or NULL), leave the same slots, and fail with the same
-- error. 72_eager and 72_eager_gates test the gate through the completion;
-- this reaches its edges (offers of one, two and more fields, settings
-- unset, empty or malformed, null arguments).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

CREATE FUNCTION pg_temp._eager_take(w durable.workflows, queue text, priority smallint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    offer text[] := pg_catalog.string_to_array(pg_catalog.current_setting('durable_eager.offer', true), E'\x1f');
    slots integer := pg_catalog.current_setting('durable_eager.slots', true)::integer;
BEGIN
    IF slots IS NULL OR slots < 1 OR offer[1] IS DISTINCT FROM w.namespace OR offer[2] IS DISTINCT FROM queue
       OR NOT durable._eager_armed(w.namespace || E'\x1f' || queue)
       OR EXISTS (SELECT 1 FROM durable.workflow_pauses p WHERE p.run_id = w.run_id)
       OR EXISTS (SELECT 1 FROM durable.activity_tasks a
                   WHERE a.namespace = w.namespace AND a.task_queue = queue AND a.state = 'SCHEDULED'
                     AND a.priority <= _eager_take.priority) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_catalog.set_config('durable_eager.slots', (slots - 1)::text, true);
    RETURN pg_catalog.array_to_string(offer[3:], E'\x1f');
END
$$;
CREATE FUNCTION pg_temp._eager_taken(task bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('durable_eager.taken',
        pg_catalog.concat_ws(',', nullif(pg_catalog.current_setting('durable_eager.taken', true), ''), task),
        true);
END
$$;

-- One call of a take, fn, from the same settings: its answer (or error)
-- and the slots it left, then the settings put back as they were.
CREATE FUNCTION pg_temp.take_by(fn text, run text, queue text, priority smallint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    slots text := current_setting('durable_eager.slots', true);
    answer text;
BEGIN
    EXECUTE format('SELECT coalesce(%s((SELECT w FROM durable.workflows w WHERE w.workflow_id = $1), $2, $3), ''<null>'')',
                   fn)
       INTO answer USING run, queue, priority;
    answer := answer || ' | slots ' || coalesce(current_setting('durable_eager.slots', true), '<unset>');
    IF slots IS NOT NULL THEN
        PERFORM set_config('durable_eager.slots', slots, true);
    END IF;
    RETURN answer;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- The C and the plpgsql answer the same; the C's answer is want.
CREATE FUNCTION pg_temp.twins(what text, want text, run text DEFAULT 'tw-1', queue text DEFAULT 'twq',
                              priority smallint DEFAULT 3) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    c text := pg_temp.take_by('durable._eager_take', run, queue, priority);
    p text := pg_temp.take_by('pg_temp._eager_take', run, queue, priority);
BEGIN
    RETURN NEXT is(c, p, what || ': the C answers as the plpgsql');
    RETURN NEXT is(c, want, what || ': ' || want);
END
$$;
CREATE FUNCTION pg_temp.offer(o text, slots text) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('durable_eager.offer', o, true), set_config('durable_eager.slots', slots, true);
$$;

SELECT durable.start_workflow('tw-1', 'W', 'twq', 'null');
SELECT durable.start_workflow('tw-paused', 'W', 'twq', 'null');
SELECT durable.pause_workflow('tw-paused', 'twin test');

-- Settings never set in this session: nothing is offered.
SELECT pg_temp.twins('no offer set', '<null> | slots <unset>');
SELECT durable._eager_arm('default' || E'\x1f' || 'twq');

-- The offer's fields.
SELECT pg_temp.offer('', '5');
SELECT pg_temp.twins('an empty offer', '<null> | slots 5');
SELECT pg_temp.offer('default', '5');
SELECT pg_temp.twins('an offer of the namespace alone', '<null> | slots 5');
SELECT pg_temp.offer('default' || E'\x1f' || 'twq', '5');
SELECT pg_temp.twins('namespace and queue, no identity', ' | slots 4');
SELECT pg_temp.offer('default' || E'\x1f' || 'twq' || E'\x1f', '5');
SELECT pg_temp.twins('an empty identity', ' | slots 4');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'host', '', '42'), '5');
SELECT pg_temp.twins('an identity holding separators and an empty field',
                     'host' || E'\x1f' || E'\x1f' || '42 | slots 4');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'other', 'twq', 'w'), '5');
SELECT pg_temp.twins('another namespace', '<null> | slots 5');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq-other', 'w'), '5');
SELECT pg_temp.twins('another queue', '<null> | slots 5');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '5');
SELECT pg_temp.twins('a queue that is a prefix of the offer''s', '<null> | slots 5', queue => 'twq' || E'\x1f' || 'w');

-- The slots.
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '1');
SELECT pg_temp.twins('the last slot', 'w | slots 0');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '0');
SELECT pg_temp.twins('no slot left', '<null> | slots 0');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '-3');
SELECT pg_temp.twins('a negative count', '<null> | slots -3');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), ' 7 ');
SELECT pg_temp.twins('a count with spaces', 'w | slots 6');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), 'abc');
SELECT pg_temp.twins('a count that is not a number', '22P02: invalid input syntax for type integer: "abc"');
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '99999999999');
SELECT pg_temp.twins('a count out of range', '22003: value "99999999999" is out of range for type integer');

-- Null arguments, the arming, the gates.
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '5');
SELECT pg_temp.twins('no run', '<null> | slots 5', run => 'no-such-run');
SELECT pg_temp.twins('no queue', '<null> | slots 5', queue => NULL);
SELECT pg_temp.twins('no priority (nothing is ready ahead of it)', 'w | slots 4', priority => NULL);
SELECT pg_temp.twins('a paused run', '<null> | slots 5', run => 'tw-paused');
SELECT durable._eager_arm(NULL);
SELECT pg_temp.twins('the queue not armed', '<null> | slots 5');
SELECT durable._eager_arm('default' || E'\x1f' || 'twq-other');
SELECT pg_temp.twins('another queue armed', '<null> | slots 5');
SELECT durable._eager_arm('default' || E'\x1f' || 'twq');

-- A ready task of the queue: ahead at its priority and above, behind below.
-- (scheduled with the offer withdrawn: with it, the command would take it)
SELECT pg_temp.offer('', '0');
SELECT durable.start_workflow('tw-ready', 'W', 'twq-wf', 'null', '{"priority": 3}');
SELECT pg_temp.complete('twq-wf', jsonb_build_array(pg_temp.act('r', '{"task_queue": "twq"}')));
SELECT pg_temp.offer(concat_ws(E'\x1f', 'default', 'twq', 'w'), '5');
SELECT is((SELECT a.state || '/' || a.priority FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'tw-ready'), 'SCHEDULED/3', 'a task of priority 3 is ready');
SELECT pg_temp.twins('a ready task of the same priority', '<null> | slots 5', priority => 3::smallint);
SELECT pg_temp.twins('a ready task of higher priority', '<null> | slots 5', priority => 4::smallint);
SELECT pg_temp.twins('a ready task of lower priority', 'w | slots 4', priority => 2::smallint);
SELECT pg_temp.twins('no priority, a ready task', 'w | slots 4', priority => NULL);

-- _eager_taken: the ids, comma-separated, an empty or null start skipped.
CREATE FUNCTION pg_temp.taken_by(fn text, start text, task bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('durable_eager.taken', start, true);
    EXECUTE format('SELECT %s($1)', fn) USING task;
    RETURN current_setting('durable_eager.taken', true);
END
$$;
SELECT is(pg_temp.taken_by('durable._eager_taken', s.start, s.task), pg_temp.taken_by('pg_temp._eager_taken', s.start, s.task),
          format('_eager_taken from %L with %s: as the plpgsql', s.start, coalesce(s.task::text, 'null')))
  FROM (VALUES ('', 7::bigint), ('3', 7), ('3,5', 9223372036854775807), ('', NULL), ('3', NULL), ('', -1)) s(start, task);
SELECT is(pg_temp.taken_by('durable._eager_taken', '3,5', 7), '3,5,7', 'the ids are appended');

SELECT * FROM finish();
ROLLBACK;
