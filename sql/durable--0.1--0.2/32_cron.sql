-- 0.2's cron (api/10_cron.sql) reads expressions in a time zone and names
-- the field at fault: its functions take other arguments than 0.1's.
DROP FUNCTION durable._cron_next(text, timestamptz);
DROP FUNCTION durable._cron_field(text, integer, integer, text[]);
