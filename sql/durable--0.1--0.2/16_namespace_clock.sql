-- A clock per namespace (schema/02_clock.sql): durable.clock gains the
-- namespace whose clock a row is; the server's row keeps namespace ''.
-- (Added without a default, then filled: a default given to ADD COLUMN is
-- kept as the rows' "missing value", which a fresh install does not have.)
ALTER TABLE durable.clock ADD COLUMN namespace text;
UPDATE durable.clock SET namespace = '';
ALTER TABLE durable.clock ALTER COLUMN namespace SET DEFAULT '', ALTER COLUMN namespace SET NOT NULL;
ALTER TABLE durable.clock DROP CONSTRAINT clock_pkey, DROP CONSTRAINT clock_clock_check;
ALTER TABLE durable.clock ADD CONSTRAINT clock_pkey PRIMARY KEY (clock, namespace),
    ADD CONSTRAINT clock_clock_check CHECK (clock = 'server' AND namespace = ''
                                            OR clock = 'namespace' AND namespace <> '');
