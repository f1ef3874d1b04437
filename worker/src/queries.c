/* Queries and updates' validators: the worker waits for them on its own
 * connection, replays the run and answers each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_text.h"
#include "replay.h"
#include "runtime.h"

/* How long one wait for queries lasts. Short for a store without
 * wait_for_query_tasks: its long poll takes what is posted, so a worker
 * killed with -9 leaves a backend that takes queries for that long (see
 * docs/sdk.md). The wait takes nothing, and each return costs a call. */
#define QUERY_WAIT_MS "2000"

/* The worker waits for queries with a procedure that commits before it
 * waits (api/75_query_wait.sql): a wait inside a statement would hold its
 * snapshot, and with it the database's xmin horizon, for the whole wait.
 * When it says one is ready, a poll that does not wait takes it. */
#define QUERY_WAIT_SQL "CALL durable.wait_for_query_tasks($1, $2::int, $3, $4)"
/* A query is answered with the query_token its poll handed out, nothing else. */
#define QUERY_POLL_SQL                                                                       \
	"SELECT query_token, workflow_id, run_id, query_type, args, history "                   \
	"FROM durable.poll_query_tasks($1, $2, 10, $3::int, $4)"
#define QUERY_POLL_SQL_BUILD                                                                 \
	"SELECT query_token, workflow_id, run_id, query_type, args, history "                   \
	"FROM durable.poll_query_tasks($1, $2, 10, $3::int, $4, build_id => $5)"
static const durable__pg_reads_t query_wait_reads = {"durable.wait_for_query_tasks",
							    (const char *const[]){"ready", NULL}, 0};
static const durable__pg_reads_t query_poll_reads = {
	"durable.poll_query_tasks",
	(const char *const[]){"query_token", "workflow_id", "run_id", "query_type", "args", "history", NULL}, 0};
#define QUERY_ANSWER_SQL "SELECT durable.answer_query_task($1, $2::jsonb, $3)"
/* An update the workflow's validator accepted is recorded, and its caller told, at once. */
#define UPDATE_ACCEPT_SQL "SELECT durable.accept_update_task($1, $2::uuid, $3, $4, $5::jsonb, $6)"

static void on_answered(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	(void)arg;
	int st = durable__pg_status(res);
	if (st == DURABLE_ELEASE)
		durable__log("WARN", "query answer refused: the caller gave up, or the query was offered again");
	else if (st < 0)
		durable__log("ERROR", "answer_query_task failed: %s", res ? PQresultErrorMessage(res) : "connection lost");
}

/* An update the store would not record: its caller hears why, not a timeout. */
static void on_accepted(durable__pg_t *pg, PGresult *res, void *arg)
{
	char *token = arg;
	if (durable__pg_status(res) < 0 && res && durable__pg_status(res) != DURABLE_ELEASE) {
		const char *p[] = {token, NULL, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)};
		durable__log("WARN", "update not recorded: %s", p[2] ? p[2] : "?");
		durable__pg_query(pg, QUERY_ANSWER_SQL, 3, p, on_answered, NULL);
	} else {
		on_answered(pg, res, NULL);
	}
	free(token);
}

/* Compact text of v encoded (a query answer, an update's args), or NULL
 * with err set. */
static char *encoded_text(durable_worker_t *w, json_t *v, char *err, size_t errlen)
{
	json_t *e = durable__encode(&w->codecs, v ? v : json_null(), err, errlen);
	char *text = e ? durable__json_text(e) : NULL;
	json_decref(e);
	return text;
}

static void answer_query(durable_worker_t *w, PGresult *res, int row)
{
	const char *history_text = durable__pg_col(res, row, "history"), *args_text = durable__pg_col(res, row, "args");
	char cerr[512] = "";
	json_t *history = durable__decode_owned(&w->codecs, durable__json_load(history_text, strlen(history_text), 0, NULL), cerr, sizeof(cerr));
	json_t *args = durable__decode_owned(&w->codecs, durable__json_load(args_text, strlen(args_text), JSON_DECODE_ANY, NULL), cerr,
			       sizeof(cerr));
	if (cerr[0]) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %s", DURABLE__CODEC_FAILURE, cerr);
		durable__log("ERROR", "query %s of workflow %s: %s", durable__pg_col(res, row, "query_type"),
			     durable__pg_col(res, row, "workflow_id"), msg);
		const char *p[] = {durable__pg_col(res, row, "query_token"), NULL, msg};
		durable__pg_query(w->q_pg, QUERY_ANSWER_SQL, 3, p, on_answered, w);
		json_decref(history);
		json_decref(args);
		return;
	}
	json_t *started = json_array_get(history, 0);
	const char *type = json_string_value(json_object_get(json_object_get(started, "attributes"), "workflow_type"));
	durable__task_t task = {.workflow_id = durable__pg_col(res, row, "workflow_id"),
				.run_id = durable__pg_col(res, row, "run_id"),
				.workflow_type = type ? type : "", .history = history,
				.query_type = durable__pg_col(res, row, "query_type"), .query_args = args};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	char *answer = NULL;
	if (history && durable__replay(reg ? reg->wf : NULL, &task, &out) == 0) {
		/* an update's verdict is read by the store: not a payload */
		int verdict = strcmp(task.query_type, DURABLE__UPDATE_QUERY) == 0;
		answer = out.error ? NULL
			 : verdict ? durable__json_text(out.answer ? out.answer : json_null())
				   : encoded_text(w, out.answer, cerr, sizeof(cerr));
		if (!out.error && !answer) {
			char msg[600];
			snprintf(msg, sizeof(msg), "%s: %s", DURABLE__CODEC_FAILURE, cerr[0] ? cerr : "out of memory");
			out.error = strdup(msg);
		}
		if (verdict &&
		    json_is_true(json_object_get(out.answer, "accepted"))) {
			char *update_args = encoded_text(w, json_object_get(args, "args"), cerr, sizeof(cerr));
			const char *p[] = {durable__pg_col(res, row, "query_token"), task.run_id,
					   json_string_value(json_object_get(args, "update_id")),
					   json_string_value(json_object_get(args, "name")), update_args,
					   json_string_value(json_object_get(args, "identity"))};
			char *token = strdup(p[0]);
			if (!token || durable__pg_query(w->q_pg, UPDATE_ACCEPT_SQL, 6, p, on_accepted, token) < 0)
				free(token);
			free(update_args);
		} else {
			const char *p[] = {durable__pg_col(res, row, "query_token"), answer, out.error};
			durable__pg_query(w->q_pg, QUERY_ANSWER_SQL, 3, p, on_answered, w);
		}
		durable__outcome_free(&out);
	}
	free(answer);
	json_decref(history);
	json_decref(args);
}

/* Whether a failed wait or poll for queries is worth another (at the next
 * backstop tick): a canceled one (57014: an operator's pg_cancel_backend, a
 * statement_timeout) or a transient error. Any other (a missing grant, a
 * store whose poll_query_tasks hands out 0.1's ids) would fail the same way
 * each time, so it is logged once and the queue's queries go unanswered, as
 * they must. (A broken connection polls again when it reconnects.) */
static int query_retryable(PGresult *res)
{
	return durable__pg_transient(res) || strcmp(durable__pg_sqlstate(res), "57014") == 0;
}

static void on_queries(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->q_polling = 0;
	if (durable__pg_status(res) < 0) {
		if (res) {
			durable__log("ERROR", "poll_query_tasks failed: %s", PQresultErrorMessage(res));
			w->q_retry = query_retryable(res);
		}
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		answer_query(w, res, i);
	durable__queries_poll(w);
}

/* Takes what is posted: at once after a wait said so, or as the long poll
 * of a store without the wait. */
static void take_queries(durable_worker_t *w, const char *wait_ms)
{
	const char *p[] = {w->task_queue, w->identity, wait_ms, w->namespace_, w->build_id};
	/* an unversioned worker calls what a 0.1 store has too */
	if (durable__pg_call(w->q_pg, &query_poll_reads, w->build_id ? QUERY_POLL_SQL_BUILD : QUERY_POLL_SQL,
			     w->build_id ? 5 : 4, p, on_queries, w) == 0)
		w->q_polling = 1;
}

static void on_query_wait(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->q_polling = 0;
	if (durable__pg_status(res) < 0) {
		if (res && strcmp(durable__pg_sqlstate(res), "42883") == 0) {
			/* a store older than the wait (durable 0.1, during an upgrade) */
			durable__log("INFO", "the store has no wait_for_query_tasks (durable before 0.2): "
				     "queries are long-polled, which holds a snapshot while it waits");
			w->q_long_poll = 1;
			durable__queries_poll(w);
		} else if (res) {
			durable__log("ERROR", "wait_for_query_tasks failed: %s", PQresultErrorMessage(res));
			w->q_retry = query_retryable(res);
		}
		return;
	}
	const char *ready = PQntuples(res) == 1 ? durable__pg_col(res, 0, "ready") : NULL;
	if (w->stopping)
		return;
	if (ready && strcmp(ready, "t") == 0)
		take_queries(w, "0");
	else
		durable__queries_poll(w);
}

void durable__queries_poll(durable_worker_t *w)
{
	if (w->stopping || w->q_polling || !w->q_pg)
		return;
	w->q_retry = 0;
	if (w->q_long_poll) {
		take_queries(w, QUERY_WAIT_MS);
		return;
	}
	const char *p[] = {w->task_queue, QUERY_WAIT_MS, w->namespace_, w->build_id};
	if (durable__pg_call(w->q_pg, &query_wait_reads, QUERY_WAIT_SQL, 4, p, on_query_wait, w) == 0)
		w->q_polling = 1;
}

void durable__on_queries_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)pg;
	(void)channel;
	durable__queries_poll(arg);
}
