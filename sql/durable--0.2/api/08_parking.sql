-- Parking: what fire_due does when firing one item fails. The item alone is
-- rolled back, its deadline moves to a retry time (1 minute, doubling, at
-- most an hour: never a hot loop), and its error is kept in durable.parked
-- and written to the server log with the workflow id. Operators see it in
-- describe_workflow ("parked"), describe_schedule and list_parked(), fix the
-- cause, and call retry_parked() (or wait for the next retry).
--
-- An item is named by its kind and key: a timer "<run_id>/<timer_id>", an
-- activity or workflow task its task_id, a workflow (run or execution
-- timeout) its run_id, a schedule "<namespace>/<schedule_id>" (neither may
-- hold a "/").

-- What is due, oldest first, as (kind, item): the items the isolated path
-- fires one by one. Not locked: _fire_item locks each and checks again.
CREATE OR REPLACE FUNCTION durable._due_items(now timestamptz, max_items integer)
RETURNS TABLE (kind text, item text, due timestamptz) LANGUAGE sql STABLE AS $$
    SELECT d.kind, d.item, d.due FROM (
        (SELECT 'timer' AS kind, tm.run_id::text || '/' || tm.timer_id AS item, tm.fire_at AS due
           FROM durable.timers tm WHERE tm.fire_at <= $1 ORDER BY tm.fire_at LIMIT $2)
        UNION ALL
        (SELECT 'activity_task', a.task_id::text, a.timeout_at
           FROM durable.activity_tasks a WHERE a.timeout_at <= $1 ORDER BY a.timeout_at LIMIT $2)
        UNION ALL
        (SELECT 'workflow_task', t.task_id::text, t.timeout_at
           FROM durable.workflow_tasks t WHERE t.timeout_at <= $1 ORDER BY t.timeout_at LIMIT $2)
        UNION ALL
        (SELECT 'workflow', w.run_id::text, w.deadline_at
           FROM durable.workflows w
          WHERE w.status = 'RUNNING' AND w.deadline_at IS NOT NULL AND w.deadline_at <= $1
          ORDER BY w.deadline_at LIMIT $2)
        UNION ALL
        (SELECT 'schedule', s.namespace || '/' || s.schedule_id, s.next_run_at
           FROM durable.schedules s
          WHERE NOT s.paused AND s.next_run_at IS NOT NULL AND s.next_run_at <= $1
          ORDER BY s.next_run_at LIMIT $2)
    ) d ORDER BY d.due LIMIT $2
$$;

-- Fires one item if it is still due and nobody else holds it; returns
-- whether it fired. Locks as the batch does (the run with the item).
CREATE OR REPLACE FUNCTION durable._fire_item(kind text, item text, now timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    tm durable.timers;
    a durable.activity_tasks;
    t durable.workflow_tasks;
    w durable.workflows;
    s durable.schedules;
BEGIN
    CASE kind
    WHEN 'timer' THEN
        SELECT x.* INTO tm FROM durable.timers x JOIN durable.workflows wf ON wf.run_id = x.run_id
         WHERE x.run_id = left(item, 36)::uuid AND x.timer_id = substr(item, 38) AND x.fire_at <= now
           FOR UPDATE OF x, wf SKIP LOCKED;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM durable._fire_timer(tm);
    WHEN 'activity_task' THEN
        SELECT x.* INTO a FROM durable.activity_tasks x JOIN durable.workflows wf ON wf.run_id = x.run_id
         WHERE x.task_id = item::bigint AND x.timeout_at <= now
           FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM durable._activity_deadline(a, now);
    WHEN 'workflow_task' THEN
        SELECT x.* INTO t FROM durable.workflow_tasks x JOIN durable.workflows wf ON wf.run_id = x.run_id
         WHERE x.task_id = item::bigint AND x.timeout_at <= now
           FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM durable._workflow_task_deadline(t);
    WHEN 'workflow' THEN
        SELECT * INTO w FROM durable.workflows x
         WHERE x.run_id = item::uuid AND x.status = 'RUNNING' AND x.deadline_at <= now
           FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM durable._workflow_deadline(w);
    WHEN 'schedule' THEN
        SELECT * INTO s FROM durable.schedules x
         WHERE x.namespace = split_part(item, '/', 1) AND x.schedule_id = split_part(item, '/', 2)
           AND NOT x.paused AND x.next_run_at <= now
           FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM durable._fire_schedule(s, now);
    END CASE;
    RETURN true;
END
$$;

-- The isolated path of fire_due: each item in its own subtransaction.
CREATE OR REPLACE FUNCTION durable._fire_isolated(now timestamptz, max_items integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    handled integer := 0;
    err jsonb;
    state text;
    msg text;
    detail text;
    hint text;
    context text;
BEGIN
    FOR d IN SELECT * FROM durable._due_items(now, max_items) LOOP
        BEGIN
            IF durable._fire_item(d.kind, d.item, now) THEN
                handled := handled + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF durable._is_transient(SQLSTATE) THEN
                RAISE;
            END IF;
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                                    hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT;
            err := jsonb_strip_nulls(jsonb_build_object('sqlstate', state, 'message', msg,
                'detail', nullif(detail, ''), 'hint', nullif(hint, ''), 'context', left(context, 2000)));
            PERFORM durable._park(d.kind, d.item, d.due, now, err);
            handled := handled + 1;
        END;
    END LOOP;
    RETURN handled;
END
$$;

-- Moves a failed item's deadline to its retry time and records the error.
-- Runs in a subtransaction of its own: if even that fails (a row no update
-- can pass), the item is only logged, and the batch goes on.
CREATE OR REPLACE FUNCTION durable._park(kind text, item text, due timestamptz, now timestamptz, err jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    attempts integer;
    retry timestamptz;
    ns text;
    wid text;
    run uuid;
    sid text;
BEGIN
    SELECT p.attempts + 1 INTO attempts FROM durable.parked p WHERE p.kind = _park.kind AND p.item = _park.item;
    attempts := coalesce(attempts, 1);
    retry := now + least(interval '1 minute' * power(2, least(attempts - 1, 6)), interval '1 hour');
    BEGIN
        CASE kind
        WHEN 'timer' THEN
            run := left(item, 36)::uuid;
            UPDATE durable.timers x SET fire_at = retry
             WHERE x.run_id = run AND x.timer_id = substr(item, 38) AND x.fire_at <= now;
        WHEN 'activity_task' THEN
            UPDATE durable.activity_tasks x SET timeout_at = retry WHERE x.task_id = item::bigint AND x.timeout_at <= now
            RETURNING x.run_id INTO run;
        WHEN 'workflow_task' THEN
            UPDATE durable.workflow_tasks x SET timeout_at = retry WHERE x.task_id = item::bigint AND x.timeout_at <= now
            RETURNING x.run_id INTO run;
        WHEN 'workflow' THEN
            run := item::uuid;
            UPDATE durable.workflows x SET deadline_at = retry WHERE x.run_id = run AND x.deadline_at <= now;
        WHEN 'schedule' THEN
            ns := split_part(item, '/', 1);
            sid := split_part(item, '/', 2);
            UPDATE durable.schedules x SET next_run_at = retry
             WHERE x.namespace = ns AND x.schedule_id = sid AND x.next_run_at <= now;
        END CASE;
        -- Not due any more: the other timer worker parked it meanwhile (both
        -- may fail on it when one's batch rolls back before the other's
        -- park commits; this update waited for that one and saw its
        -- retry time), or it went away. Nothing to do.
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF run IS NOT NULL THEN
            SELECT w.namespace, w.workflow_id INTO ns, wid FROM durable.workflows w WHERE w.run_id = run;
        END IF;
        INSERT INTO durable.parked AS p (kind, item, namespace, workflow_id, run_id, schedule_id, due_at, error,
                                         attempts, parked_at, last_error_at, retry_at)
        VALUES (kind, item, ns, wid, run, sid, due, err, attempts, now, now, retry)
        ON CONFLICT ON CONSTRAINT parked_pkey DO UPDATE
           SET error = excluded.error, attempts = excluded.attempts, last_error_at = excluded.last_error_at,
               retry_at = excluded.retry_at;
    EXCEPTION WHEN OTHERS THEN
        IF durable._is_transient(SQLSTATE) THEN
            RAISE;
        END IF;
        RAISE WARNING 'durable: % % failed to fire and could not be parked: %', kind, item, SQLERRM
            USING DETAIL = format('Firing failed with %s: %s', err ->> 'sqlstate', err ->> 'message'),
                  HINT = 'The timer workers try it again on every pass; terminate its workflow or fix the row.';
        RETURN;
    END;
    RAISE WARNING 'durable: % failed to fire (attempt %), parked until %: %',
        -- ids are cut to 100 characters: the one at fault may be a very long one
        CASE WHEN kind = 'schedule' THEN format('schedule "%s" in namespace %s',
                                                CASE WHEN length(sid) > 100 THEN left(sid, 100) || '...' ELSE sid END, ns)
             ELSE format('%s %s of workflow "%s" (run %s)', replace(kind, '_', ' '),
                         CASE WHEN kind = 'timer' THEN substr(item, 38) ELSE item END, wid, run) END,
        attempts, retry, err ->> 'message'
        USING DETAIL = rtrim(format('SQLSTATE %s. %s', err ->> 'sqlstate', coalesce(err ->> 'detail', ''))),
              HINT = 'SELECT * FROM durable.list_parked() shows it; fix the cause, then SELECT durable.retry_parked().';
END
$$;

-- Is this parked row's item still parked: there, and due at its retry time?
CREATE OR REPLACE FUNCTION durable._still_parked(p durable.parked) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE p.kind
        WHEN 'timer' THEN EXISTS (SELECT 1 FROM durable.timers x
                                   WHERE x.run_id = p.run_id AND x.timer_id = substr(p.item, 38)
                                     AND x.fire_at = p.retry_at)
        WHEN 'activity_task' THEN EXISTS (SELECT 1 FROM durable.activity_tasks x
                                           WHERE x.task_id = p.item::bigint AND x.timeout_at = p.retry_at)
        WHEN 'workflow_task' THEN EXISTS (SELECT 1 FROM durable.workflow_tasks x
                                           WHERE x.task_id = p.item::bigint AND x.timeout_at = p.retry_at)
        WHEN 'workflow' THEN EXISTS (SELECT 1 FROM durable.workflows x
                                      WHERE x.run_id = p.run_id AND x.status = 'RUNNING'
                                        AND x.deadline_at = p.retry_at)
        WHEN 'schedule' THEN EXISTS (SELECT 1 FROM durable.schedules x
                                      WHERE x.namespace = p.namespace AND x.schedule_id = p.schedule_id
                                        AND x.next_run_at = p.retry_at)
    END
$$;

-- Forgets parked rows whose item fired, moved on or went away (called by
-- fire_due only while durable.parked has rows: the common path pays one
-- probe of an empty table).
CREATE OR REPLACE FUNCTION durable._forget_unparked() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM durable.parked p WHERE NOT durable._still_parked(p);
END
$$;

CREATE OR REPLACE FUNCTION durable.list_parked(namespace text DEFAULT NULL)
RETURNS TABLE (kind text, item text, namespace text, workflow_id text, run_id uuid, schedule_id text,
               due_at timestamptz, error jsonb, attempts integer, parked_at timestamptz,
               last_error_at timestamptz, retry_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.kind, p.item, p.namespace, p.workflow_id, p.run_id, p.schedule_id, p.due_at, p.error,
           p.attempts, p.parked_at, p.last_error_at, p.retry_at
      FROM durable.parked p
     WHERE ($1 IS NULL OR p.namespace = $1) AND durable._still_parked(p)
       AND durable._may('reader', NULL, p.namespace)   -- only namespaces the caller may read
     ORDER BY p.parked_at, p.kind, p.item
$$;
COMMENT ON FUNCTION durable.list_parked(text) IS
    'Deadlines the timer workers failed to fire, with the error and the next retry time (all namespaces when NULL).';

-- Makes parked items due now (all of them, or those of one workflow id, or
-- one item), for after the cause was fixed. Returns how many.
CREATE OR REPLACE FUNCTION durable.retry_parked(workflow_id text DEFAULT NULL, kind text DEFAULT NULL,
                                                item text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    p durable.parked;
    now timestamptz := durable.now();
    n integer := 0;
BEGIN
    IF kind IS NOT NULL AND kind NOT IN ('timer', 'activity_task', 'workflow_task', 'workflow', 'schedule') THEN
        PERFORM durable._bad_input(format('unknown parked kind "%s"', kind), NULL,
            'Use timer, activity_task, workflow_task, workflow or schedule, as durable.list_parked() shows.');
    END IF;
    IF workflow_id IS NOT NULL THEN
        PERFORM durable._authorize('operator', NULL, namespace);
    END IF;
    FOR p IN SELECT * FROM durable.parked x
              WHERE (workflow_id IS NULL OR (x.workflow_id = workflow_id AND x.namespace = namespace))
                AND (kind IS NULL OR x.kind = kind) AND (item IS NULL OR x.item = item)
                AND durable._still_parked(x)
                AND durable._may('operator', NULL, x.namespace)   -- only namespaces the caller may operate
                FOR UPDATE LOOP
        CASE p.kind
        WHEN 'timer' THEN
            UPDATE durable.timers x SET fire_at = now WHERE x.run_id = p.run_id AND x.timer_id = substr(p.item, 38);
        WHEN 'activity_task' THEN
            UPDATE durable.activity_tasks x SET timeout_at = now WHERE x.task_id = p.item::bigint;
        WHEN 'workflow_task' THEN
            UPDATE durable.workflow_tasks x SET timeout_at = now WHERE x.task_id = p.item::bigint;
        WHEN 'workflow' THEN
            UPDATE durable.workflows x SET deadline_at = now WHERE x.run_id = p.run_id;
        WHEN 'schedule' THEN
            UPDATE durable.schedules x SET next_run_at = now
             WHERE x.namespace = p.namespace AND x.schedule_id = p.schedule_id;
        END CASE;
        UPDATE durable.parked x SET retry_at = now WHERE x.kind = p.kind AND x.item = p.item;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        PERFORM durable._wake_at(now);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION durable.retry_parked(text, text, text, text) IS
    'Makes parked deadlines due now (all, one workflow''s, or one kind/item), after their cause was fixed; returns how many.';
