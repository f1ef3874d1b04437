-- Appends without the executor (pgext/src/history_append.c): the row _append
-- writes with the heap and index APIs is, byte for byte, the row an INSERT
-- into durable.history writes for the same event (its view trigger, the SQL
-- path); several appends in one statement see each other; every index of
-- history_rows gets its entry, unique ones checked; the insert is counted;
-- what an INSERT would do beyond that (an operator's trigger, a partial
-- index) still happens, by the statement; errors are the statement's.
-- (A concurrent duplicate id: tests/concurrency/isolation/specs/append_duplicate.spec.)
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE TEMP TABLE cases (n serial, event_type text, attributes jsonb);
INSERT INTO cases (event_type, attributes) VALUES
    ('WorkflowExecutionStarted', '{"memo": {}, "input": 1, "attempt": 1, "identity": null, "task_queue": "q", "parent_run_id": null, "workflow_type": "W", "search_attributes": {}, "parent_workflow_id": null, "workflow_run_timeout": null, "workflow_task_timeout": 10, "first_execution_run_id": "00000000-0000-0000-0000-0000000000ad", "parent_initiated_event_id": null, "continued_execution_run_id": null, "workflow_execution_timeout": null}'),
    ('WorkflowTaskScheduled', '{"attempt": 1, "task_queue": "q", "start_to_close_timeout": 10}'),
    ('WorkflowTaskStarted', '{"identity": "vm:1", "scheduled_event_id": 2}'),
    ('WorkflowTaskCompleted', '{"identity": "vm:1", "started_event_id": 3, "scheduled_event_id": 2}'),
    ('ActivityTaskScheduled', '{"input": 1, "attempt": 1, "activity_id": "1", "task_queue": "q", "retry_policy": null, "activity_type": "noop", "heartbeat_timeout": null, "start_to_close_timeout": 600, "schedule_to_close_timeout": null, "schedule_to_start_timeout": null, "workflow_task_completed_event_id": 4}'),
    ('ActivityTaskStarted', '{"attempt": 1, "identity": "vm:1", "last_failure": null, "scheduled_event_id": 5}'),
    ('ActivityTaskCompleted', '{"result": {"deep": {"a": [1, 2.50, {"b": null}], "s": "é\"\\"}, "big": 12345678901234567890}, "identity": "vm:1", "started_event_id": 6, "scheduled_event_id": 5}'),
    ('SomethingNew', '{"attempt": 1, "x": null}'),
    ('MarkerRecorded', '{}'),
    ('ActivityTaskFailed', '[1, {"attempt": 1}]'),
    ('ActivityTaskCompleted', '{"result": null}');
-- larger than a page's share: compressed in the row, and stored out of line
INSERT INTO cases (event_type, attributes)
SELECT 'ActivityTaskCompleted', jsonb_build_object('result', repeat('compressible ', 600), 'scheduled_event_id', 5);
INSERT INTO cases (event_type, attributes)
SELECT 'ActivityTaskCompleted', jsonb_build_object('result', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 600) i));
CREATE TEMP TABLE run AS SELECT '00000000-0000-0000-0000-0000000000ad'::uuid AS id;
CREATE FUNCTION pg_temp.at(n integer) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT '2026-01-02 03:04:05.678901+00'::timestamptz + n * interval '1.001 ms'
$$;

CREATE EXTENSION IF NOT EXISTS pageinspect;
-- every stored row of the run: its columns, its attributes' stored bytes and
-- size, and (pageinspect) the tuple's data and its null/varwidth/external bits
CREATE FUNCTION pg_temp.stored(run uuid) RETURNS TABLE (event_id bigint, event_code smallint, event_time timestamptz,
                                                        packed bytea, size integer, compression text,
                                                        t_data bytea, t_bits integer)
LANGUAGE sql AS $$
    SELECT h.event_id, h.event_code, h.event_time, jsonb_send(h.attributes_packed),
           pg_column_size(h.attributes_packed), pg_column_compression(h.attributes_packed), p.t_data, p.t_infomask & 7
      FROM durable.history_rows h,
           LATERAL heap_page_items(get_raw_page('durable.history_rows', (h.ctid::text::point)[0]::integer)) p
     WHERE h.run_id = run AND p.lp = (h.ctid::text::point)[1]::integer
$$;

-- The C path: all the cases in one statement (each call sees the ones before).
CREATE TEMP TABLE ids AS
SELECT c.n, durable._append_at((SELECT id FROM run), c.event_type, c.attributes, pg_temp.at(c.n)) AS event_id
  FROM cases c ORDER BY c.n;
SELECT is((SELECT array_agg(event_id ORDER BY n) FROM ids), (SELECT array_agg(n::bigint ORDER BY n) FROM cases),
          'appends in one statement give ids 1, 2, 3, ... in order');
CREATE TEMP TABLE by_c AS SELECT * FROM pg_temp.stored((SELECT id FROM run));
SELECT is((SELECT count(*) FROM by_c), (SELECT count(*) FROM cases), 'every case was written once');
SELECT is((SELECT compression FROM by_c WHERE event_id = (SELECT max(n) - 1 FROM cases)), 'pglz',
          'the large compressible case is stored compressed');
SELECT ok((SELECT size FROM by_c WHERE event_id = (SELECT max(n) FROM cases)) > 8000,
          'and the incompressible one out of line');

-- The SQL path: the same events through the view's trigger.
DELETE FROM durable.history_rows WHERE run_id = (SELECT id FROM run);
INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes)
SELECT (SELECT id FROM run), c.n, c.event_type, pg_temp.at(c.n), c.attributes FROM cases c ORDER BY c.n;
CREATE TEMP TABLE by_sql AS SELECT * FROM pg_temp.stored((SELECT id FROM run));

SELECT is(row(c.event_code, c.event_time, c.packed, c.size, c.compression, c.t_bits)::text,
          row(s.event_code, s.event_time, s.packed, s.size, s.compression, s.t_bits)::text,
          format('event %s (%s): the same columns, stored bytes and size as the SQL path', c.event_id, k.event_type))
  FROM by_c c JOIN by_sql s USING (event_id) JOIN cases k ON k.n = c.event_id;
-- (an out-of-line value's row holds a pointer to its own toast chunks: the
-- rows stored inline are compared whole)
SELECT is(c.t_data, s.t_data, format('event %s (%s): the tuple''s bytes are the SQL path''s', c.event_id, k.event_type))
  FROM by_c c JOIN by_sql s USING (event_id) JOIN cases k ON k.n = c.event_id
 WHERE c.size < 2000;
SELECT is((SELECT count(*) FROM by_c WHERE size < 2000), (SELECT count(*) - 1 FROM cases),
          'every case but the out-of-line one was compared byte for byte');

-- _append (the run's clock) as _append_at, and the history shows the events as written.
SELECT is(durable._append((SELECT id FROM run), 'MarkerRecorded', '{"marker_name": "m"}'),
          (SELECT count(*) + 1 FROM cases), '_append continues after the last id');
SELECT is((SELECT row(event_type, attributes::text)::text FROM durable.history
            WHERE run_id = (SELECT id FROM run) ORDER BY event_id DESC LIMIT 1),
          '(MarkerRecorded,"{""marker_name"": ""m""}")', 'durable.history shows it as written');
SELECT is((SELECT array_agg(attributes::text ORDER BY event_id) FROM durable.history
            WHERE run_id = (SELECT id FROM run) AND event_id <= (SELECT max(n) FROM cases)),
          (SELECT array_agg(attributes::text ORDER BY n) FROM cases), 'and every case as written');

-- The insert is counted, as the executor's is.
CREATE TEMP TABLE ins0 AS SELECT pg_stat_get_xact_tuples_inserted('durable.history_rows'::regclass) AS n;
SELECT count(durable._append((SELECT id FROM run), 'MarkerRecorded', '{}')) FROM generate_series(1, 3);
SELECT is(pg_stat_get_xact_tuples_inserted('durable.history_rows'::regclass) - (SELECT n FROM ins0), 3::bigint,
          'three appends count three inserted rows');

CREATE FUNCTION pg_temp.plan_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN ' || q;
END
$$;
-- Every index of history_rows gets the row: an operator's index of plain columns ...
CREATE TEMP TABLE r2 AS SELECT '00000000-0000-0000-0000-0000000000a2'::uuid AS id;
CREATE INDEX history_rows_test_by_time ON durable.history_rows (event_time, event_code);
SELECT count(durable._append_at((SELECT id FROM r2), 'MarkerRecorded', '{}', '1999-01-01 00:00:00+00')) FROM generate_series(1, 4);
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.history_rows WHERE event_time = '1999-01-01 00:00:00+00' AND event_code = 25),
          4::bigint, 'an index of the operator''s has every appended row');
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.plan_lines(
              $$SELECT count(*) FROM durable.history_rows WHERE event_time = '1999-01-01 00:00:00+00' AND event_code = 25$$) p)
          LIKE '%history_rows_test_by_time%', '(read through that index)');
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX durable.history_rows_test_by_time;

-- What the heap and index APIs leave out goes through the statement: a
-- trigger of the operator's (row or statement) fires for every append ...
CREATE TEMP TABLE seen (run_id uuid, event_id bigint, level text);
CREATE FUNCTION pg_temp.seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        INSERT INTO seen VALUES (NEW.run_id, NEW.event_id, 'row');
    ELSE
        INSERT INTO seen VALUES (NULL, NULL, 'statement');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER history_rows_test_row AFTER INSERT ON durable.history_rows FOR EACH ROW EXECUTE FUNCTION pg_temp.seen();
SELECT count(durable._append((SELECT id FROM r2), 'MarkerRecorded', '{}')) FROM generate_series(1, 2);
SELECT is((SELECT array_agg(row(event_id, level)::text ORDER BY event_id) FROM seen WHERE run_id = (SELECT id FROM r2)),
          ARRAY['(5,row)', '(6,row)'], 'an operator''s row trigger on history_rows sees every append');
DROP TRIGGER history_rows_test_row ON durable.history_rows;
CREATE TRIGGER history_rows_test_stmt BEFORE INSERT ON durable.history_rows FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.seen();
CREATE TRIGGER history_rows_test_stmt_after AFTER INSERT ON durable.history_rows FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.seen();
SELECT count(durable._append((SELECT id FROM r2), 'MarkerRecorded', '{}')) FROM generate_series(1, 2);
-- (AFTER STATEMENT as 0.1's plpgsql INSERT fired it: the statement run to its end)
SELECT is((SELECT count(*) FROM seen WHERE level = 'statement'), 4::bigint,
          'and statement triggers, BEFORE and AFTER, fire per append');
DROP TRIGGER history_rows_test_stmt ON durable.history_rows;
DROP TRIGGER history_rows_test_stmt_after ON durable.history_rows;
-- ... and a partial index gets the rows its predicate takes
CREATE INDEX history_rows_test_partial ON durable.history_rows (event_time) WHERE event_code = 25;
SELECT count(durable._append_at((SELECT id FROM r2), 'MarkerRecorded', '{}', '1998-01-01 00:00:00+00')) FROM generate_series(1, 3);
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.history_rows WHERE event_time = '1998-01-01 00:00:00+00' AND event_code = 25),
          3::bigint, 'a partial index of the operator''s has the appended rows');
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX durable.history_rows_test_partial;
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM durable.history_rows WHERE run_id = (SELECT id FROM r2)),
          ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]::bigint[], 'the ids went on one by one through both ways');

-- A column an operator added and dropped again: the C path still writes the
-- row (null in the dropped column, as the executor does), byte for byte the
-- SQL path's. Which path an append took shows in _event_pack's calls: the
-- statement calls it as a function, the C path does not.
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.pack_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls('durable._event_pack(uuid, bigint, text, jsonb)'::regprocedure), 0)
$$;
CREATE TEMP TABLE r4 AS SELECT '00000000-0000-0000-0000-0000000000a4'::uuid AS id;
CREATE INDEX history_rows_test_expr ON durable.history_rows ((event_code + 1));
CREATE TEMP TABLE calls0 AS SELECT pg_temp.pack_calls() AS n;
SELECT is(durable._append((SELECT id FROM r4), 'MarkerRecorded', '{}'), 1::bigint, '(an expression index: the statement appends)');
SELECT is(pg_temp.pack_calls() - (SELECT n FROM calls0), 1::bigint, '(which calls _event_pack: the detector works)');
DROP INDEX durable.history_rows_test_expr;
DELETE FROM durable.history_rows WHERE run_id = (SELECT id FROM r4);
ALTER TABLE durable.history_rows ADD COLUMN operators_note text;
ALTER TABLE durable.history_rows DROP COLUMN operators_note;
UPDATE calls0 SET n = pg_temp.pack_calls();
SELECT is((SELECT array_agg(durable._append_at((SELECT id FROM r4), c.event_type, c.attributes, pg_temp.at(c.n)) ORDER BY c.n)
             FROM cases c WHERE c.n <= 10),
          ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]::bigint[], 'with a dropped column, the events are appended');
SELECT is(pg_temp.pack_calls() - (SELECT n FROM calls0), 0::bigint, 'by the C path');
CREATE TEMP TABLE dropped_c AS SELECT * FROM pg_temp.stored((SELECT id FROM r4));
DELETE FROM durable.history_rows WHERE run_id = (SELECT id FROM r4);
INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes)
SELECT (SELECT id FROM r4), c.n, c.event_type, pg_temp.at(c.n), c.attributes FROM cases c WHERE c.n <= 10;
CREATE TEMP TABLE dropped_sql AS SELECT * FROM pg_temp.stored((SELECT id FROM r4));
SELECT is((SELECT count(*) FROM dropped_c c JOIN dropped_sql s USING (event_id)
            WHERE row(c.event_code, c.event_time, c.packed, c.t_data, c.t_bits) IS NOT DISTINCT FROM
                  row(s.event_code, s.event_time, s.packed, s.t_data, s.t_bits)),
          10::bigint, 'and each row is byte for byte the SQL path''s, the dropped column''s null included');
SELECT is((SELECT count(*) FROM dropped_c WHERE t_bits & 1 = 1), 10::bigint,
          '(each with a null bitmap, for the dropped column)');

-- event_time of timestamptz(0) (an operator's ALTER; durable.history, which
-- reads it, taken out of the extension and dropped for it): the statement coerces the time to the column,
-- rounding it to the second. Undone after (pg_temp.undone).
CREATE TEMP TABLE r5 AS SELECT '00000000-0000-0000-0000-0000000000a5'::uuid AS id;
SELECT is(pg_temp.undone(format($$ALTER EXTENSION durable DROP VIEW durable.history;
                                 DROP VIEW durable.history;
                                 ALTER TABLE durable.history_rows ALTER COLUMN event_time TYPE timestamptz(0);
                                 SELECT durable._append_at(%L, 'MarkerRecorded', '{}', '2026-01-02 03:04:05.678901+00')$$,
                                (SELECT id FROM r5)),
                         format('SELECT event_time FROM durable.history_rows WHERE run_id = %L', (SELECT id FROM r5))),
          '2026-01-02 03:04:06+00'::timestamptz::text,
          'event_time of timestamptz(0): the time stored rounded, as the statement rounds it');

-- A unique index of the operator's is checked as the INSERT checked it.
CREATE TEMP TABLE r3 AS SELECT '00000000-0000-0000-0000-0000000000a3'::uuid AS id;
-- (events of one run in one transaction share a time: the test's rows alone)
DELETE FROM durable.history_rows;
CREATE UNIQUE INDEX history_rows_test_unique ON durable.history_rows (run_id, event_time);
SELECT is(durable._append_at((SELECT id FROM r3), 'MarkerRecorded', '{}', '1999-01-01 00:00:00+00'), 1::bigint,
          'with a unique index of the operator''s, an event is appended');
SELECT is(pg_temp.error_of(format('SELECT durable._append_at(%L, %L, %L, %L)', (SELECT id FROM r3), 'MarkerRecorded', '{}',
                                  '1999-01-01 00:00:00+00')),
          ARRAY['23505', 'duplicate key value violates unique constraint "history_rows_test_unique"',
                format('Key (run_id, event_time)=(%s, 1999-01-01 00:00:00+00) already exists.', (SELECT id FROM r3)), NULL],
          'and a duplicate of its key is refused with the INSERT''s error');
SELECT is((SELECT count(*) FROM durable.history_rows WHERE run_id = (SELECT id FROM r3)), 1::bigint, 'and nothing was written');
DROP INDEX durable.history_rows_test_unique;

-- Errors are the statement's, and write nothing.
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM durable.history_rows;
SELECT is(pg_temp.error_of(format($$SET LOCAL transaction_read_only = on; SELECT durable._append(%L, 'MarkerRecorded', '{}')$$,
                                  (SELECT id FROM r2))),
          ARRAY['25006', 'cannot execute INSERT in a read-only transaction', NULL, NULL],
          'a read-only transaction is refused as the INSERT was');
SELECT is((SELECT count(*) FROM durable.history_rows), (SELECT n FROM before), 'and nothing was written');

SELECT * FROM finish();
ROLLBACK;
