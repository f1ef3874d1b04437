-- A stored event's attributes are unpacked in the order jsonb keeps an
-- object's keys (pgext/src/history_pack.c, DurableEventUnpackPush: shorter
-- names first, then by bytes), not in the codes' order, so that jsonb need
-- not move them. What a reader gets must not depend on that order: every
-- name, coded, listed as a pair, escaped or kept as it is, comes back with
-- its value, and where a damaged row names one twice, the one read last
-- from the row is kept, as before (pgext's order among equal names is the
-- row's). Through durable.history and through the poll's history.
BEGIN;
SELECT plan(5);

SELECT durable.start_workflow('unpack-order', 'W', 'unpack-order-q');
CREATE TEMP TABLE run AS SELECT run_id FROM durable.workflows WHERE workflow_id = 'unpack-order';
-- codes: a = identity, c = attempt, b = scheduled_event_id; pairs: a = attempt 1,
-- b = identity null; "!b" escapes the name "b"
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT run_id, 10, 6, now(), '{"a": "me", "b": 9, "zz": 1, "!b": 2, "longer_unknown_name": 3, "x_": [1, {"k": 2}]}'
  FROM run;
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT run_id, 11, 6, now(), '{"c": 5, "~": "a"}' FROM run;
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT run_id, 12, 6, now(), '{"~": "ab", "a": "again", "c": 7}' FROM run;

SELECT is((SELECT attributes FROM durable.history WHERE run_id = (SELECT run_id FROM run) AND event_id = 10),
          '{"identity": "me", "scheduled_event_id": 9, "zz": 1, "b": 2, "longer_unknown_name": 3, "x_": [1, {"k": 2}]}'::jsonb,
          'coded, escaped and other names, each with its value');
SELECT is((SELECT attributes ->> 'attempt' FROM durable.history WHERE run_id = (SELECT run_id FROM run) AND event_id = 11),
          '1', 'a name coded and listed as a pair: the pair, read last, is kept');
SELECT is((SELECT attributes FROM durable.history WHERE run_id = (SELECT run_id FROM run) AND event_id = 12),
          '{"attempt": 1, "identity": null}'::jsonb, 'pairs read after the coded names win over them');
SELECT is((SELECT e -> 'attributes' FROM jsonb_array_elements(durable._history_json((SELECT run_id FROM run), 9)) e
            WHERE (e ->> 'event_id')::int = 10),
          (SELECT attributes FROM durable.history WHERE run_id = (SELECT run_id FROM run) AND event_id = 10),
          'the poll''s history reads the same');
SELECT is((SELECT array_agg(k ORDER BY n) FROM jsonb_array_elements(durable._history_json((SELECT run_id FROM run), 9)) e,
                  jsonb_object_keys(e) WITH ORDINALITY AS t(k, n) WHERE (e ->> 'event_id')::int = 12),
          ARRAY['event_id', 'attributes', 'event_time', 'event_type'], 'an event''s own keys, in jsonb''s order');

SELECT * FROM finish();
ROLLBACK;
