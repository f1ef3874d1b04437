-- A damaged stored event (durable.history_rows) is refused with an error by
-- every reader, never read out of bounds: a row whose type has no code (0)
-- and whose packed attributes are not an object used to be searched as if
-- it were one (pgext/src/history_pack.c, DurableEventType), which read past
-- the value and crashed the server (every session, every worker) through the
-- view, get_history, the poll's history or durable._event_type itself.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN ARRAY[SQLSTATE, SQLERRM];
END
$$;

-- An array laid out so that, searched as an object, its bytes name "^" and
-- point past the end (it crashed the server before the fix).
SELECT is(pg_temp.error_of($$SELECT durable._event_type(0::smallint, '["a", "b", "01\u0001\u0001\u0001\u000167890^zzzz"]')$$),
          ARRAY['XX001', 'a stored event has an unknown type code 0'], 'code 0 with an array is refused');
SELECT is(pg_temp.error_of($$SELECT durable._event_type(0::smallint, '"^"')$$),
          ARRAY['XX001', 'a stored event has an unknown type code 0'], 'code 0 with a scalar is refused');
SELECT is(durable._event_type(0::smallint, '{"^": "Later"}'), 'Later', 'code 0 with its name still reads it');

-- the same damage in a stored row, through the readers
SELECT durable.start_workflow('damaged-1', 'W', 'damaged-q');
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT run_id, 3, 0, now(), '["a", "b", "01\u0001\u0001\u0001\u000167890^zzzz"]'
  FROM durable.workflows WHERE workflow_id = 'damaged-1';
SELECT is(pg_temp.error_of($$SELECT count(event_type) FROM durable.history h JOIN durable.workflows w USING (run_id)
                             WHERE w.workflow_id = 'damaged-1'$$),
          ARRAY['XX001', 'a stored event has an unknown type code 0'], 'durable.history refuses the row');
SELECT is(pg_temp.error_of($$SELECT count(*) FROM durable.get_history('damaged-1')$$),
          ARRAY['XX001', 'a stored event has an unknown type code 0'], 'get_history refuses it');
SELECT is(pg_temp.error_of($$SELECT durable._history_json(w.run_id, 0) FROM durable.workflows w
                             WHERE w.workflow_id = 'damaged-1'$$),
          ARRAY['XX001', 'a stored event has an unknown type code 0'], 'the poll''s history refuses it');

SELECT * FROM finish();
ROLLBACK;
