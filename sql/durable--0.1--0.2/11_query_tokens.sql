-- Query answers are fenced: poll_query_tasks hands out a random query_token
-- instead of the sequential query id, and answer_query_task takes the token.
DROP FUNCTION durable.answer_query_task(bigint, jsonb, text);
DROP FUNCTION durable.poll_query_tasks(text, text, integer, integer, text);
DROP FUNCTION durable._query_answer(bigint, text, boolean);
DROP FUNCTION durable._query_take(text, integer, integer);
