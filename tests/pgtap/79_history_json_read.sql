-- durable._history_json reads history_rows by a scan of history_pkey
-- (pgext/src/history_json.c) where the statement would do nothing more, and
-- through the statement where it would: each case below is something the
-- statement does that the scan must not skip. Every check compares the
-- result with what the SQL rendering of durable.history gives in the same
-- state, as the same role.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.run(n integer) RETURNS uuid LANGUAGE sql AS $$
    SELECT ('00000000-0000-0000-0000-0000000079' || lpad(to_hex(n + 128), 2, '0'))::uuid
$$;
-- (pg_temp.history_json_sql and pg_temp.error_as: helpers.psql)
-- _history_json's result and the SQL's, as role r
CREATE FUNCTION pg_temp.both_as(r text, run uuid, from_event bigint) RETURNS jsonb[] LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
    want jsonb;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    got := durable._history_json(run, from_event);
    want := pg_temp.history_json_sql(run, from_event);
    RESET ROLE;
    RETURN ARRAY[got, want];
END
$$;

-- Many events over several pages, one of them compressed and one stored out
-- of line: each row's attributes are read out of its page before the scan
-- moves on.
SELECT is((SELECT count(durable._append(pg_temp.run(1), 'MarkerRecorded', jsonb_build_object('n', i, 'pad', repeat('x', 200))))
             FROM generate_series(1, 200) i), 200::bigint, '(200 events of ~250 bytes)');
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', jsonb_build_object('big', repeat('compressible ', 2000))),
          201::bigint, '(one compressed)');
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded',
                          jsonb_build_object('big', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i))),
          202::bigint, '(one stored out of line)');
SELECT is((SELECT count(*) FROM durable.history_rows WHERE run_id = pg_temp.run(1)
              AND pg_column_size(attributes_packed) < octet_length(attributes_packed::text)), 1::bigint,
          '(and it is compressed)');
SELECT is((SELECT count(durable._append(pg_temp.run(2), 'ActivityTaskScheduled', jsonb_build_object('activity_id', i::text)))
             FROM generate_series(1, 5) i), 5::bigint, '(five events of another run)');
SELECT is(durable._history_json(pg_temp.run(1), f), pg_temp.history_json_sql(pg_temp.run(1), f),
          format('a run of 202 events after event %s: what the SQL gives', f))
  FROM unnest(ARRAY[0, 1, 150, 200, 201, 202]) f;
SELECT is(jsonb_array_length(durable._history_json(pg_temp.run(1), 0)), 202, '(all 202 of them)');
SELECT is(durable._history_json(pg_temp.run(2), 3), pg_temp.history_json_sql(pg_temp.run(2), 3), 'and of another run');

CREATE ROLE durable_test_reader;
CREATE ROLE durable_test_column_reader;
CREATE ROLE durable_test_no_reader;
GRANT USAGE ON SCHEMA durable TO durable_test_reader, durable_test_column_reader, durable_test_no_reader;
GRANT EXECUTE ON FUNCTION durable._history_json(uuid, bigint) TO durable_test_reader, durable_test_column_reader, durable_test_no_reader;
GRANT EXECUTE ON FUNCTION durable._event_type(smallint, jsonb), durable._event_attributes(uuid, bigint, jsonb)
    TO durable_test_reader, durable_test_column_reader;
GRANT SELECT ON durable.history TO durable_test_reader, durable_test_column_reader;
GRANT SELECT ON durable.history_rows TO durable_test_reader;
GRANT SELECT (run_id, event_id, event_code, event_time, attributes_packed) ON durable.history_rows TO durable_test_column_reader;

SELECT is((pg_temp.both_as('durable_test_reader', pg_temp.run(2), 0))[1],
          (pg_temp.both_as('durable_test_reader', pg_temp.run(2), 0))[2], 'a role that may read history_rows reads it');
SELECT is(pg_temp.error_as('durable_test_no_reader', format('SELECT durable._history_json(%L, 0)', pg_temp.run(2))),
          ARRAY['42501', 'permission denied for table history_rows'],
          'a role that may not is refused, as the statement refuses it');
SELECT is((pg_temp.both_as('durable_test_column_reader', pg_temp.run(2), 0))[1],
          (pg_temp.both_as('durable_test_column_reader', pg_temp.run(2), 0))[2],
          'a role that may read the columns it reads, and not the table, reads them');

-- Row security: the policy's rows only.
ALTER TABLE durable.history_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_rows_test_odd ON durable.history_rows FOR SELECT USING (event_id % 2 = 1);
-- (durable.history, a view, reads as its owner: the rows' ids are compared)
SELECT is((SELECT array_agg((e ->> 'event_id')::bigint)
             FROM jsonb_array_elements((pg_temp.both_as('durable_test_reader', pg_temp.run(2), 0))[1]) e),
          ARRAY[1, 3, 5]::bigint[], 'with row security, a role reads the rows its policy lets it');
SELECT is((pg_temp.both_as('durable_test_reader', pg_temp.run(2), 0))[1],
          (SELECT jsonb_agg(e) FROM jsonb_array_elements(pg_temp.history_json_sql(pg_temp.run(2), 0)) e
            WHERE (e ->> 'event_id')::bigint % 2 = 1), '(as they are)');
DROP POLICY history_rows_test_odd ON durable.history_rows;
ALTER TABLE durable.history_rows DISABLE ROW LEVEL SECURITY;

-- A table that inherits from history_rows: its rows are read with the parent's.
CREATE TABLE public.history_rows_test_child () INHERITS (durable.history_rows);
INSERT INTO public.history_rows_test_child VALUES (pg_temp.run(2), 6, 25, now(), '{}');
SELECT is(durable._history_json(pg_temp.run(2), 0), pg_temp.history_json_sql(pg_temp.run(2), 0),
          'with a table inheriting from history_rows, its rows are read too');
SELECT is(jsonb_array_length(durable._history_json(pg_temp.run(2), 0)), 6, '(six events)');
DROP TABLE public.history_rows_test_child;
SELECT is(jsonb_array_length(durable._history_json(pg_temp.run(2), 0)), 5, 'dropped, five again');

SELECT * FROM finish();
ROLLBACK;
