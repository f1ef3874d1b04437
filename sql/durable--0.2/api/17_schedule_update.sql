-- Updating a schedule in place (Temporal's UpdateSchedule): its spec, its
-- action (what it starts, with the start options) and its policies, keeping
-- its counters, recent actions and the runs it started.

-- obj with patch's top-level keys applied: a key set to null is removed
-- (back to its default), any other value replaces the key's value; no
-- patch leaves obj as it is.
CREATE OR REPLACE FUNCTION durable._json_patch(obj jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN $2 IS NULL THEN $1
                ELSE (coalesce($1, '{}') || jsonb_strip_nulls($2))
                     - ARRAY(SELECT k FROM jsonb_each($2) e(k, v) WHERE jsonb_typeof(v) = 'null') END
$$;

CREATE OR REPLACE FUNCTION durable.update_schedule(schedule_id text, spec jsonb DEFAULT NULL, action jsonb DEFAULT NULL,
                                                   policies jsonb DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS timestamptz LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s durable.schedules;
    new_spec jsonb;
    new_action jsonb;
    now timestamptz := durable.now();
    next_run timestamptz;
BEGIN
    PERFORM durable._authorize('operator', NULL, $5);
    FOR i IN 1..3 LOOP
        IF jsonb_typeof((ARRAY[spec, action, policies])[i]) NOT IN ('object', 'null') THEN
            PERFORM durable._bad_input(format('update_schedule: "%s" must be a JSON object',
                                              (ARRAY['spec', 'action', 'policies'])[i]),
                format('Got %s.', (ARRAY[spec, action, policies])[i]),
                'Give only the fields to change, e.g. {"cron": ["0 10 * * *"]}; null leaves it as it is.');
        END IF;
    END LOOP;
    s := durable._lock_schedule($5, $1);
    new_spec := durable._json_patch(s.spec, spec);
    new_action := durable._json_patch(s.action, action);
    -- the action's start options change field by field too
    IF jsonb_typeof(action -> 'options') = 'object' THEN
        new_action := jsonb_set(new_action, '{options}', durable._json_patch(s.action -> 'options', action -> 'options'));
    END IF;
    PERFORM durable._check_schedule_spec(new_spec);
    PERFORM durable._check_schedule_action(new_action);
    PERFORM durable._check_name(coalesce(new_action ->> 'workflow_id', s.schedule_id),
        CASE WHEN new_action ? 'workflow_id' THEN 'schedule action: "workflow_id"' ELSE 'schedule_id' END,
        255 - octet_length(durable._schedule_id_suffix(now)));
    policies := coalesce(policies, '{}');
    PERFORM durable._check_schedule_policies(policies);

    -- The next time is computed again when the spec changed, or when an
    -- exhausted schedule gets more actions; otherwise a due time that the
    -- timer worker has not fired yet stays due.
    next_run := s.next_run_at;
    IF new_spec IS DISTINCT FROM s.spec OR (next_run IS NULL AND policies ? 'remaining_actions') THEN
        next_run := durable._schedule_next_in(s.namespace, new_spec, now);
    END IF;
    UPDATE durable.schedules sc
       SET spec = new_spec, action = new_action,
           overlap_policy = CASE WHEN policies ? 'overlap_policy'
                                 THEN coalesce(policies ->> 'overlap_policy', 'SKIP') ELSE sc.overlap_policy END,
           catchup_window = CASE WHEN policies ? 'catchup_window'
                                 THEN coalesce(durable._json_interval(policies, 'catchup_window', 'schedule policies'),
                                               interval '365 days')
                                 ELSE sc.catchup_window END,
           paused = CASE WHEN policies ? 'paused' THEN coalesce((policies ->> 'paused')::boolean, false) ELSE sc.paused END,
           note = CASE WHEN policies ? 'note' THEN policies ->> 'note' ELSE sc.note END,
           remaining_actions = CASE WHEN policies ? 'remaining_actions'
                                    THEN (policies ->> 'remaining_actions')::integer ELSE sc.remaining_actions END,
           next_run_at = next_run, updated_at = now
     WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
    PERFORM durable._wake_at(next_run);
    RETURN next_run;
END
$$;
COMMENT ON FUNCTION durable.update_schedule(text, jsonb, jsonb, jsonb, text) IS
    'Changes a schedule in place: spec, action (and its start options) and policies field by field (null removes a field), keeping its counters and runs; returns its next run time, computed again when the spec changed.';
