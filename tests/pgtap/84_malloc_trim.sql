-- durable.malloc_trim_threshold (pgext/src/malloc_trim.c): glibc's trim
-- threshold, set once in the postmaster. It is there with its default, in
-- kB, read only at server start: a session cannot change it.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT is((SELECT row(setting, unit, context, min_val, max_val, boot_val)::text FROM pg_settings
            WHERE name = 'durable.malloc_trim_threshold'),
          '(2048,kB,postmaster,-1,1048576,2048)', 'the setting: 2 MB by default, -1 to 1 GB, read at server start');
SELECT is(current_setting('durable.malloc_trim_threshold'), '2MB', 'SHOW gives 2MB');
SELECT is((pg_temp.error_of('SET durable.malloc_trim_threshold = -1'))[1], '55P02',
          'a session cannot change it (55P02)');

SELECT * FROM finish();
ROLLBACK;
