-- History rows packed (pgext/src/history_pack.c, api/01_history.sql): every
-- event reads back, through durable.history, get_history and the poll's
-- history, exactly as it was written, whatever its type and attributes; the
-- stored row is smaller; a damaged row is refused, never shown wrong.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Attributes that packing must give back exactly: every name and pair of the
-- dictionaries with other values, names that look like the packed form's own,
-- numbers that equal a pair's value but are written otherwise, non-objects.
CREATE TEMP TABLE cases (n serial, event_type text, attributes jsonb);
INSERT INTO cases (event_type, attributes) VALUES
    ('WorkflowExecutionStarted', '{"memo": {}, "input": 1, "attempt": 1, "identity": null, "task_queue": "q", "parent_run_id": null, "workflow_type": "W", "search_attributes": {}, "parent_workflow_id": null, "workflow_run_timeout": null, "workflow_task_timeout": 10, "first_execution_run_id": "00000000-0000-0000-0000-00000000000a", "parent_initiated_event_id": null, "continued_execution_run_id": null, "workflow_execution_timeout": null}'),
    ('WorkflowExecutionStarted', '{"memo": {"k": 1}, "attempt": 2, "identity": "me", "search_attributes": {"a": null}, "workflow_task_timeout": 10.0, "first_execution_run_id": "00000000-0000-0000-0000-00000000000b"}'),
    ('ActivityTaskScheduled', '{"input": 1, "task_queue": "q", "activity_id": "1", "retry_policy": {"initial_interval": 1, "maximum_attempts": 0, "maximum_interval": 100, "backoff_coefficient": 2, "non_retryable_error_types": []}, "activity_type": "noop", "heartbeat_timeout": null, "start_to_close_timeout": 300, "schedule_to_close_timeout": null, "schedule_to_start_timeout": null, "workflow_task_completed_event_id": 4}'),
    ('ActivityTaskScheduled', '{"retry_policy": {"initial_interval": 1.0, "maximum_attempts": 0, "maximum_interval": 100, "backoff_coefficient": 2, "non_retryable_error_types": []}}'),
    ('ActivityTaskScheduled', '{"retry_policy": {"initial_interval": 1, "maximum_attempts": 0, "maximum_interval": 100, "backoff_coefficient": 2, "non_retryable_error_types": ["E"]}}'),
    ('ActivityTaskScheduled', '{"retry_policy": {"initial_interval": 1, "maximum_attempts": 0, "maximum_interval": 100, "backoff_coefficient": 2}}'),
    ('ActivityTaskScheduled', '{"retry_policy": null, "heartbeat_timeout": 0, "schedule_to_close_timeout": "null"}'),
    ('WorkflowTaskScheduled', '{"attempt": 1.0, "task_queue": "q", "start_to_close_timeout": 10}'),
    ('WorkflowTaskScheduled', '{"attempt": "1", "start_to_close_timeout": 1e1}'),
    ('WorkflowTaskStarted', '{"attempt": 1, "identity": "vm:1", "scheduled_event_id": 2, "build_id": "b1"}'),
    ('ActivityTaskStarted', '{"attempt": 3, "identity": "vm:1", "last_failure": {"message": "boom"}, "scheduled_event_id": 5}'),
    ('ActivityTaskCompleted', '{"result": null, "identity": null, "started_event_id": 6, "scheduled_event_id": 5}'),
    ('WorkflowExecutionCompleted', '{"result": {"a": [1, 2.50, {"attempt": 1, "b": null}]}, "workflow_task_completed_event_id": 10}'),
    ('MarkerRecorded', '{"~": "abc", "^": "x", "=": 1, "!": 2, "!a": 3, "!!": 4, "a": 5, "Z": 6, "0": 7, "": 8, "é": 9, "~~": 10}'),
    ('MarkerRecorded', '{}'),
    ('SomethingNew', '{"attempt": 1, "x": null}'),
    ('SomethingNew', '{}'),
    ('', '{"a": 1}'),
    ('ActivityTaskFailed', '[1, {"attempt": 1}]'),
    ('ActivityTaskFailed', '5'),
    ('ActivityTaskFailed', '"s"'),
    ('ActivityTaskFailed', 'null'),
    ('ActivityTaskFailed', '{"failure": null, "details": null, "header": null, "request_id": null, "new_execution_run_id": null, "input": null}'),
    ('ActivityTaskCompleted', '{"result": 1, "identity": "vm:1", "started_event_id": 26, "scheduled_event_id": 25}'),
    ('ActivityTaskCompleted', '{"started_event_id": 26.0, "scheduled_event_id": "25"}'),
    ('WorkflowTaskCompleted', '{"started_event_id": 28, "scheduled_event_id": 27, "identity": "vm:1"}'),
    ('WorkflowTaskCompleted', '{"started_event_id": 1, "scheduled_event_id": 29}'),
    ('WorkflowExecutionCompleted', '{"result": 1, "workflow_task_completed_event_id": 30}'),
    ('WorkflowExecutionSignaled', '{"input": {"deep": {"a": [1, 2.50, {"b": null}], "s": "é\"\\"}, "big": 12345678901234567890}, "signal_name": "s", "identity": "x"}');
CREATE TEMP TABLE run AS SELECT '00000000-0000-0000-0000-00000000000a'::uuid AS id;

-- (each packed as the event id _append gives it below: case n is event n + 2)
SELECT is(durable._event_attributes(r.id, c.n + 2, durable._event_pack(r.id, c.n + 2, c.event_type, c.attributes))::text,
          c.attributes::text, format('case %s (%s) reads back as written', c.n, c.event_type))
  FROM cases c, run r;
SELECT is(durable._event_type(durable._event_code(c.event_type), durable._event_pack(r.id, c.n + 2, c.event_type, c.attributes)),
          c.event_type, format('case %s keeps its type %L', c.n, c.event_type))
  FROM cases c, run r;
-- the run-id and event-id pairs are the row's own: packed, they are not stored
SELECT is(durable._event_attributes(gen_random_uuid(), 3, durable._event_pack(r.id, 3, c.event_type, c.attributes))
              ->> 'first_execution_run_id' = (c.attributes ->> 'first_execution_run_id'),
          false, 'a first_execution_run_id packed as the row''s own run reads as another row''s run there')
  FROM cases c, run r WHERE c.n = 1;
SELECT is(durable._event_attributes(r.id, 9, durable._event_pack(r.id, 7, 'ActivityTaskCompleted',
              '{"started_event_id": 6, "scheduled_event_id": 5}'))::text,
          '{"started_event_id": 8, "scheduled_event_id": 7}', 'event ids just before the event''s own are stored as such')
  FROM run r;
SELECT ok(pg_column_size(durable._event_pack(r.id, 3, c.event_type, c.attributes)) * 3 < pg_column_size(c.attributes),
          'a start event packs to less than a third of its size')
  FROM cases c, run r WHERE c.n = 1;
SELECT is(durable._event_code('ActivityTaskScheduled') > 0 AND durable._event_code('SomethingNew') = 0, true,
          'known types have a code; others 0 (their name is kept with the attributes)');

-- Through the store: _append writes packed rows, every reader sees them as written.
SELECT durable.start_workflow('pack-1', 'W', 'pack-q');
CREATE TEMP TABLE pk AS SELECT run_id FROM durable.workflows WHERE workflow_id = 'pack-1';
SELECT durable._append((SELECT run_id FROM pk), c.event_type, c.attributes) FROM cases c ORDER BY c.n;
CREATE TEMP TABLE written AS
SELECT h.event_id, c.n FROM durable.history h, cases c
 WHERE h.run_id = (SELECT run_id FROM pk) AND h.event_id = c.n + 2;
SELECT is((SELECT count(*) FROM written), (SELECT count(*) FROM cases), 'every case was appended after the start''s two events');
SELECT is(row(h.event_type, h.attributes::text)::text, row(c.event_type, c.attributes::text)::text,
          format('durable.history shows case %s as written', c.n))
  FROM durable.history h JOIN written w USING (event_id) JOIN cases c USING (n)
 WHERE h.run_id = (SELECT run_id FROM pk);
SELECT is((SELECT array_agg(e ->> 'event_type' ORDER BY (e ->> 'event_id')::bigint)
             FROM jsonb_array_elements(durable._history_json((SELECT run_id FROM pk), 2)) e),
          (SELECT array_agg(event_type ORDER BY n) FROM cases), '_history_json gives every type');
SELECT is(e -> 'attributes', c.attributes, format('_history_json gives case %s''s attributes', c.n))
  FROM jsonb_array_elements(durable._history_json((SELECT run_id FROM pk), 2)) e
  JOIN cases c ON c.n = (e ->> 'event_id')::bigint - 2;
SELECT is(g.attributes::text, c.attributes::text, format('get_history gives case %s as written', c.n))
  FROM durable.get_history('pack-1') g JOIN cases c ON c.n = g.event_id - 2;

-- A script that inserts into durable.history, as into the table it was, stores the event packed.
WITH i AS (INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes)
           VALUES ((SELECT run_id FROM pk), 100, 'ActivityTaskStarted', now(),
                   '{"attempt": 1, "identity": "x", "last_failure": null, "scheduled_event_id": 99}')
           RETURNING event_type, attributes)
SELECT is((SELECT row(event_type, attributes::text)::text FROM i),
          '(ActivityTaskStarted,"{""attempt"": 1, ""identity"": ""x"", ""last_failure"": null, ""scheduled_event_id"": 99}")',
          'an insert into durable.history returns the event');
SELECT is((SELECT row(event_code, attributes_packed::text)::text FROM durable.history_rows
            WHERE run_id = (SELECT run_id FROM pk) AND event_id = 100),
          '(6,"{""a"": ""x"", ""~"": ""acz""}")', 'and stores it packed');
SELECT is((SELECT attributes::text FROM durable.history WHERE run_id = (SELECT run_id FROM pk) AND event_id = 100),
          '{"attempt": 1, "identity": "x", "last_failure": null, "scheduled_event_id": 99}', 'which reads back as written');

-- The start event, as 0.1 wrote it, key for key (a null dropped would fail here).
SELECT is((SELECT attributes - 'first_execution_run_id' FROM durable.history
            WHERE run_id = (SELECT run_id FROM pk) AND event_id = 1)::text,
          '{"memo": {}, "input": null, "attempt": 1, "identity": null, "task_queue": "pack-q", "parent_run_id": null, "workflow_type": "W", "search_attributes": {}, "parent_workflow_id": null, "workflow_run_timeout": null, "workflow_task_timeout": 10, "parent_initiated_event_id": null, "continued_execution_run_id": null, "workflow_execution_timeout": null}',
          'WorkflowExecutionStarted shows every key it had, nulls included');
SELECT is((SELECT attributes ->> 'first_execution_run_id' FROM durable.history
            WHERE run_id = (SELECT run_id FROM pk) AND event_id = 1), (SELECT run_id::text FROM pk),
          'and its own run as first_execution_run_id');

-- Who could read the table reads the view (the web console's latency
-- histograms read it as durable_admin); nobody else.
SELECT is(pg_temp.as_role('durable_admin', $$SELECT count(*) FROM durable.history WHERE attributes IS NOT NULL AND event_type <> ''$$),
          'ok', 'an administrator reads durable.history, attributes and types');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT count(*) FROM durable.history$$), '42501',
          'an operator may not');

-- The history stays append-only through the view, as the table was.
SELECT is(pg_temp.err($$UPDATE durable.history SET attributes = '{}'$$),
          '55000: workflow history is append-only', 'the view refuses an update');
SELECT is(pg_temp.err($$UPDATE durable.history_rows SET event_time = now()$$),
          '55000: workflow history is append-only', 'so do the rows');

-- A damaged row is refused, not shown wrong.
SELECT is(pg_temp.err($$SELECT durable._event_type(999::smallint, '{}')$$),
          'XX001: a stored event has an unknown type code 999', 'an unknown type code is refused');
SELECT is(pg_temp.err($$SELECT durable._event_type(0::smallint, '{}')$$),
          'XX001: a stored event has an unknown type code 0', 'code 0 without its name is refused');
SELECT is(pg_temp.err($$SELECT durable._event_attributes(gen_random_uuid(), 1, '{"~": "?"}')$$),
          'XX001: a stored event names an unknown attribute pair "?"', 'an unknown pair is refused');
SELECT is(pg_temp.err($$SELECT durable._event_attributes(gen_random_uuid(), 1, '{"_": 1}')$$),
          'XX001: a stored event names an unknown attribute "_"', 'an unknown one-character name is refused');
SELECT is(pg_temp.err($$SELECT durable._event_attributes(gen_random_uuid(), 1, '[1]')$$),
          'XX001: a stored event''s attributes are not packed', 'a non-object is refused');

SELECT * FROM finish();
ROLLBACK;
