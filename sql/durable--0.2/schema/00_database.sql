-- The timer workers serve one database, durable.database: a store created in
-- any other database would hold workflows whose timers never fire. Refuse it,
-- as pg_cron refuses to be created outside cron.database_name.
DO $database$
BEGIN
    IF current_setting('durable.database', true) IS NULL THEN
        RAISE EXCEPTION 'durable is not loaded'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The timer workers and the shared clock only exist when the server loads the library at start.',
                  HINT = 'Add durable to shared_preload_libraries in postgresql.conf and restart the server.';
    END IF;
    IF current_database() <> current_setting('durable.database') THEN
        RAISE EXCEPTION 'can only create extension durable in database "%"', current_setting('durable.database')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The timer workers fire timers and timeouts only in durable.database ("%s"); a store in database "%s" would never see its timers fire.',
                                  current_setting('durable.database'), current_database()),
                  HINT = format('Create the extension in database "%s", or set durable.database = ''%s'' in postgresql.conf and restart the server.',
                                current_setting('durable.database'), current_database());
    END IF;
END
$database$;
