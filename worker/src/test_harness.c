/* durable_test.h: a worker in this process, on a thread of its own, in a
 * namespace of its own; the caller's thread starts workflows and waits for
 * them over a libpq connection of its own, and skips the namespace's clock
 * (durable.skip_to_next_deadline) whenever nothing there can run. */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>
#include <libpq-fe.h>
#include "durable_test.h"
#include "json_text.h"
#include "log.h"
#include "runtime.h"

struct durable_test_s {
	durable_test_options_t opts;
	char namespace_[96];
	char task_queue[96];
	PGconn *db;
	durable_worker_t *w;
	pthread_t thread;
	int running;
	int worker_done;         /* set by the worker's thread when its run returns */
	json_t *pool;            /* what the harness handed out */
	json_t *failure;         /* the last close's failure (in pool) */
};

static double real_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits until some run's history changes (durable.watch_history on our
 * connection) or ms pass: the harness looks again only when something
 * happened, and leaves the CPU to the worker meanwhile. */
static void wait_for_history(durable_test_t *t, long ms)
{
	PGnotify *n;
	int fd = PQsocket(t->db);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	fd_set in;
	if (fd < 0) {
		pause_ms(ms);
		return;
	}
	FD_ZERO(&in);
	FD_SET(fd, &in);
	if (select(fd + 1, &in, NULL, NULL, &tv) > 0)
		PQconsumeInput(t->db);
	while ((n = PQnotifies(t->db)) != NULL)
		PQfreemem(n);
}

/* Runs a statement with text parameters; NULL (logged) on failure. */
static PGresult *query(durable_test_t *t, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(t->db, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	durable__log("ERROR", "test harness: %s", PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

static json_t *keep(durable_test_t *t, json_t *v)
{
	const char *why;
	return v && durable__pool_add(&t->pool, v, &why) == 0 ? v : NULL;
}

static json_t *parse(durable_test_t *t, const char *text)
{
	return text && *text ? keep(t, durable__json_load(text, strlen(text), JSON_DECODE_ANY, NULL)) : NULL;
}

json_t *durable_test_json(durable_test_t *t, const char *fmt, ...)
{
	char why[300];
	int oom;
	va_list ap;
	va_start(ap, fmt);
	json_t *v = durable__vpack("durable_test_json", fmt, ap, why, sizeof(why), &oom);
	va_end(ap);
	if (!v)
		durable__log("ERROR", "%s", why);
	return keep(t, v);
}

int durable_test_new(const durable_test_options_t *opts, durable_test_t **out)
{
	static const durable_test_options_t none = {0};
	static int seq;
	*out = NULL;
	if (!opts)
		opts = &none;
	durable_test_t *t = calloc(1, sizeof(*t));
	if (!t || !(t->pool = json_array())) {
		free(t);
		return -ENOMEM;
	}
	t->opts = *opts;
	if (t->opts.timeout <= 0)
		t->opts.timeout = 60;
	if (opts->namespace_)
		snprintf(t->namespace_, sizeof(t->namespace_), "%s", opts->namespace_);
	else
		snprintf(t->namespace_, sizeof(t->namespace_), "test-%d-%d-%lld", (int)getpid(),
			 __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST), (long long)time(NULL));
	snprintf(t->task_queue, sizeof(t->task_queue), "%s", opts->task_queue ? opts->task_queue : "test");
	t->db = PQconnectdb(opts->dsn ? opts->dsn : "");
	if (PQstatus(t->db) != CONNECTION_OK) {
		durable__log("ERROR", "test harness: cannot connect: %s", PQerrorMessage(t->db));
		durable_test_free(t);
		return DURABLE_EDB;
	}
	PQclear(PQexec(t->db, "SELECT durable.watch_history()"));
	durable_worker_options_t wo = {.dsn = opts->dsn, .task_queue = t->task_queue, .namespace_ = t->namespace_,
				       .identity = "durable-test"};
	int rc = durable_worker_new(&wo, &t->w);
	if (rc < 0) {
		durable_test_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

durable_worker_t *durable_test_worker(durable_test_t *t) { return t->w; }
const char *durable_test_namespace(durable_test_t *t) { return t->namespace_; }
const char *durable_test_task_queue(durable_test_t *t) { return t->task_queue; }

static void *run_worker(void *arg)
{
	durable_test_t *t = arg;
	durable_worker_run(t->w);
	__atomic_store_n(&t->worker_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The worker starts with the first workflow: registrations come before. */
static int ensure_worker(durable_test_t *t)
{
	if (t->running)
		return 0;
	int rc = pthread_create(&t->thread, NULL, run_worker, t);
	if (rc != 0)
		return -rc;
	t->running = 1;
	return 0;
}

static int call(durable_test_t *t, const char *sql, int n, const char *const *params)
{
	PGresult *res = query(t, sql, n, params);
	if (!res)
		return DURABLE_EDB;
	PQclear(res);
	return 0;
}

/* JSON text for a borrowed value (NULL: JSON null); free() it. */
static char *text_of(json_t *v)
{
	return v ? durable__json_text(v) : strdup("null");
}

int durable_test_start(durable_test_t *t, const char *workflow_id, const char *workflow_type, json_t *input)
{
	int rc = ensure_worker(t);
	if (rc < 0)
		return rc;
	char *in = text_of(input);
	if (!in)
		return -ENOMEM;
	const char *p[] = {workflow_id, workflow_type, t->task_queue, in, t->namespace_};
	rc = call(t, "SELECT durable.start_workflow($1, $2, $3, $4::jsonb, '{}', $5)", 5, p);
	free(in);
	return rc;
}

int durable_test_signal(durable_test_t *t, const char *workflow_id, const char *name, json_t *input)
{
	char *in = text_of(input);
	if (!in)
		return -ENOMEM;
	const char *p[] = {workflow_id, name, in, t->namespace_};
	int rc = call(t, "SELECT durable.signal_workflow($1, $2, $3::jsonb, namespace => $4)", 4, p);
	free(in);
	return rc;
}

int durable_test_cancel(durable_test_t *t, const char *workflow_id)
{
	const char *p[] = {workflow_id, t->namespace_};
	return call(t, "SELECT durable.cancel_workflow($1, 'durable_test_cancel', namespace => $2)", 2, p);
}

int durable_test_skip(durable_test_t *t, double seconds)
{
	char by[64];
	snprintf(by, sizeof(by), "%.6f seconds", seconds);
	const char *p[] = {t->namespace_, by};
	return call(t, "SELECT durable.skip_time($1, $2::interval)", 2, p);
}

int64_t durable_test_now(durable_test_t *t)
{
	const char *p[] = {t->namespace_};
	PGresult *res = query(t, "SELECT (extract(epoch FROM durable.now($1)) * 1000)::bigint", 1, p);
	int64_t ms = res && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return ms;
}

/* Skips to the next deadline if nothing can run: 1 if it did, 0 if not. */
static int skip_if_idle(durable_test_t *t)
{
	const char *p[] = {t->namespace_};
	PGresult *res = query(t, "SELECT durable.skip_to_next_deadline($1) IS NOT NULL", 1, p);
	int skipped = res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return res ? skipped : DURABLE_EDB;
}

static int close_status(const char *status)
{
	if (strcmp(status, "COMPLETED") == 0)
		return 0;
	if (strcmp(status, "CANCELED") == 0)
		return DURABLE_ECANCELED;
	if (strcmp(status, "TIMED_OUT") == 0)
		return DURABLE_ETIMEDOUT;
	if (strcmp(status, "CONTINUED_AS_NEW") == 0)
		return DURABLE_ECONTINUED;
	return DURABLE_EFAILED;   /* FAILED, TERMINATED */
}

int durable_test_result(durable_test_t *t, const char *workflow_id, json_t **result)
{
	const char *p[] = {workflow_id, t->namespace_};
	double give_up = real_seconds() + t->opts.timeout;
	if (result)
		*result = NULL;
	int rc = ensure_worker(t);
	if (rc < 0)
		return rc;
	for (;;) {
		PGresult *res = query(t, "SELECT d ->> 'status' AS status, d -> 'result' AS result, "
					 "d -> 'failure' AS failure FROM durable.describe_workflow($1, NULL, $2) d", 2, p);
		if (!res)
			return DURABLE_EDB;
		const char *status = durable__pg_col(res, 0, "status");
		if (strcmp(status, "RUNNING") != 0) {
			rc = close_status(status);
			if (result && rc == 0)
				*result = parse(t, durable__pg_col(res, 0, "result"));
			t->failure = rc == 0 ? NULL : parse(t, durable__pg_col(res, 0, "failure"));
			PQclear(res);
			return rc;
		}
		PQclear(res);
		if (real_seconds() > give_up) {
			durable__log("ERROR", "test harness: %s still running after %.0f s", workflow_id, t->opts.timeout);
			return -ETIMEDOUT;
		}
		int skipped = t->opts.manual_time ? 0 : skip_if_idle(t);
		if (skipped < 0)
			return skipped;
		if (!skipped)
			wait_for_history(t, 20);
	}
}

int durable_test_idle(durable_test_t *t)
{
	const char *p[] = {t->namespace_};
	double give_up = real_seconds() + t->opts.timeout;
	int rc = ensure_worker(t);
	if (rc < 0)
		return rc;
	for (;;) {
		PGresult *res = query(t,
			"SELECT NOT EXISTS (SELECT 1 FROM durable.workflow_tasks w WHERE w.namespace = $1 "
			"                   AND w.state IN ('SCHEDULED', 'STARTED'))"
			"   AND NOT EXISTS (SELECT 1 FROM durable.activity_tasks a WHERE a.namespace = $1 "
			"                   AND a.state IN ('SCHEDULED', 'STARTED'))", 1, p);
		if (!res)
			return DURABLE_EDB;
		int idle = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (idle)
			return 0;
		if (real_seconds() > give_up)
			return -ETIMEDOUT;
		wait_for_history(t, 20);
	}
}

json_t *durable_test_failure(durable_test_t *t)
{
	return t->failure;
}

json_t *durable_test_history(durable_test_t *t, const char *workflow_id)
{
	const char *p[] = {workflow_id, t->namespace_};
	PGresult *res = query(t, "SELECT coalesce(json_agg(h ORDER BY h.event_id), '[]') "
				 "FROM durable.get_history($1, NULL, 0, NULL, $2) h", 2, p);
	json_t *h = res ? parse(t, PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	return h;
}

int durable_test_count_events(durable_test_t *t, const char *workflow_id, const char *event_type)
{
	json_t *h = durable_test_history(t, workflow_id);
	size_t i;
	json_t *ev;
	int n = 0;
	if (!h)
		return DURABLE_EDB;
	json_array_foreach(h, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "event_type"));
		n += type && strcmp(type, event_type) == 0;
	}
	return n;
}

int durable_test_json_is(json_t *value, const char *expected)
{
	json_t *want = expected ? durable__json_load(expected, strlen(expected), JSON_DECODE_ANY, NULL) : NULL;
	int same = want ? json_equal(value ? value : json_null(), want) : 0;
	json_decref(want);
	return same;
}

void durable_test_free(durable_test_t *t)
{
	if (!t)
		return;
	if (t->running) {
		while (!__atomic_load_n(&t->worker_done, __ATOMIC_SEQ_CST) &&
		       durable__worker_stop_async(t->w) == -EAGAIN)
			pause_ms(1);
		pthread_join(t->thread, NULL);
	}
	durable_worker_free(t->w);
	PQfinish(t->db);
	json_decref(t->pool);
	free(t);
}
