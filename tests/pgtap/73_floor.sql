-- The store's floor (api/73_floor.sql, pgext/src/open_run.c): the C probes
-- that replaced statements on the start and lease paths give what the
-- statements gave, whatever the planner's statistics say.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- _find_open_run, _open_run --------------------------------------------------

SELECT durable.start_workflow('or-1', 'T', 'q-or');
SELECT durable.start_workflow('or-1', 'T', 'q-or', NULL, '{}', 'or-other');
SELECT is(durable._find_open_run('default', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'default' AND workflow_id = 'or-1'),
          '_find_open_run gives the open run of a workflow id');
SELECT is(durable._find_open_run('or-other', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'or-other' AND workflow_id = 'or-1'),
          '_find_open_run reads the namespace given');
SELECT isnt(durable._find_open_run('default', 'or-1'), durable._find_open_run('or-other', 'or-1'),
            'the same id in two namespaces is two runs');
SELECT is(durable._find_open_run('default', 'or-none'), NULL, '_find_open_run of an unknown id is NULL');
SELECT is(durable._find_open_run('default', 'OR-1'), NULL, 'ids are compared exactly');
SELECT is(durable._find_open_run(NULL, 'or-1'), NULL, '_find_open_run of a NULL namespace is NULL');
SELECT is(durable._find_open_run('default', NULL), NULL, '_find_open_run of a NULL id is NULL');

SELECT is(durable._open_run('default', 'or-1'), durable._find_open_run('default', 'or-1'),
          '_open_run (which also locks it) gives the same run');
SELECT is(durable._open_run('default', 'or-none'), NULL, '_open_run of an unknown id is NULL');

SELECT durable.terminate_workflow('or-1', 'test');
SELECT is(durable._open_run('default', 'or-1'), NULL, 'a closed run is not open to _open_run either');
SELECT is(durable._find_open_run('default', 'or-1'), NULL, 'a closed run is not open');
SELECT durable.start_workflow('or-1', 'T', 'q-or');
SELECT is(durable._find_open_run('default', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'default' AND workflow_id = 'or-1'
              AND status = 'RUNNING'),
          'a new run of the id is the open one');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'or-1' AND namespace = 'default'), 2::bigint,
          'the closed run stays');

-- the conflict rules of a start, which read it
SELECT throws_ok($$SELECT durable.start_workflow('or-1', 'T', 'q-or')$$, 'DU002', 'workflow "or-1" already started',
                 'a second start of an open id is refused');
SELECT lives_ok($$SELECT durable.start_workflow('or-1', 'T', 'q-or', NULL,
                                                '{"id_reuse_policy": "TERMINATE_IF_RUNNING"}')$$,
                'TERMINATE_IF_RUNNING replaces the open run');
SELECT is((SELECT array_agg(status ORDER BY started_at, closed_at NULLS LAST) FROM durable.workflows
            WHERE workflow_id = 'or-1' AND namespace = 'default'),
          ARRAY['TERMINATED', 'TERMINATED', 'RUNNING'], 'the replaced run was terminated, the new one runs');

-- An unanalyzed store whose runs were all started in one transaction: the
-- statement this replaced walked every run of the namespace per start.
SELECT durable.start_workflow('or-bulk-' || i, 'T', 'q-or') FROM generate_series(1, 300) i;
SELECT is((SELECT count(*) FROM generate_series(1, 300) i
            WHERE durable._find_open_run('default', 'or-bulk-' || i) IS NOT NULL), 300::bigint,
          'every run of a bulk start is found');

-- Its one internal error: the index it reads is gone (never in a store this
-- release made). The error undoes the rename with the block's subtransaction.
CREATE FUNCTION pg_temp.without_index() RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    ALTER INDEX durable.workflows_one_open_run RENAME TO workflows_one_open_run_gone;
    PERFORM durable._find_open_run('default', 'or-1');
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN ARRAY[SQLSTATE, SQLERRM];
END
$$;
SELECT is(pg_temp.without_index(), ARRAY['XX000', 'index durable.workflows_one_open_run is missing'],
          'a missing index is an internal error');
SELECT has_index('durable', 'workflows', 'workflows_one_open_run', 'the index is back');

SELECT * FROM finish();
ROLLBACK;
