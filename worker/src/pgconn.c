/* Async libpq on a libuv loop: one uv_poll_t on a dup of the connection's
 * socket (so uv_close can finish after PQfinish), UV_WRITABLE only while
 * PQflush() says output is pending, results drained to NULL and then the
 * notifications. A broken connection fails what is queued, waits (backoff
 * 100 ms doubling to 5 s) and reconnects; the owner's ready callback then
 * re-LISTENs and polls. Connecting is asynchronous too (PQconnectStart and
 * PQconnectPoll on the same uv_poll_t, re-made if libpq changes sockets),
 * bounded by a 10 s timeout. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"

typedef struct req {
	char *sql;
	int nparams;
	char **params;
	const durable__pg_reads_t *reads;   /* NULL: the answer is not read by name */
	durable__pg_cb cb;
	void *arg;
	int resent;           /* sent again once, its prepared statement stale */
	struct req *next;
} req_t;

/* A statement this connection prepared, or is preparing, by its text. A
 * call marked prepared (durable__pg_reads_t) is then only bound and
 * executed: PQsendQueryParams' unnamed statement is parsed, analyzed and
 * planned again at every call: about 3% of the server's CPU in the
 * ten-parallel shape (docs/performance.md, "The worker's calls prepared").
 * A session's statements end with it: a new connection prepares them
 * again. */
#define PG_STATEMENTS 16
typedef struct {
	char *sql;            /* NULL: a free slot */
	char name[24];
	int ready;            /* prepared: executed by name */
} stmt_t;

typedef struct {
	uv_poll_t handle;
	int fd;
	int watched;          /* the libpq socket this is a dup of */
} poller_t;

struct durable__pg {
	uv_loop_t *loop;
	char *dsn, *name;
	PGconn *conn;
	poller_t *poll;
	int events;
	req_t *head, *tail, *inflight;
	PGresult *result;
	uv_timer_t retry;
	uint64_t backoff_ms;
	durable__pg_event_cb ready, notify;
	void *arg;
	int closing;
	int connecting;       /* PQconnectPoll in progress; the retry timer is its timeout */
	stmt_t stmts[PG_STATEMENTS];
	stmt_t *preparing;    /* the statement whose Parse is in flight, before inflight's execution */
	unsigned stmt_seq;    /* names are never reused in a session (a stale one stays prepared) */
};

#define CONNECT_TIMEOUT_MS 10000

const char *durable__pg_sqlstate(PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

int durable__pg_transient(PGresult *res)
{
	const char *s = durable__pg_sqlstate(res);
	return strncmp(s, "08", 2) == 0 ||      /* connection exception */
	       strncmp(s, "57P", 3) == 0 ||     /* admin/crash shutdown, cannot connect now */
	       strcmp(s, "25006") == 0 ||       /* read-only transaction: a demoted primary */
	       strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0;
}

int durable__pg_status(PGresult *res)
{
	if (!res)
		return DURABLE_EDB;
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return 0;
	return strcmp(durable__pg_sqlstate(res), "DU004") == 0 ? DURABLE_ELEASE : DURABLE_EDB;
}

static void free_req(req_t *r)
{
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r->params);
	free(r->sql);
	free(r);
}

static void poller_closed(uv_handle_t *h)
{
	poller_t *p = (poller_t *)h;
	close(p->fd);
	free(p);
}

static void on_poll(uv_poll_t *h, int status, int events);
static void connect_now(durable__pg_t *pg);
static void connect_step(durable__pg_t *pg);

/* Fails every query (callback with NULL), in order. */
static void fail_all(durable__pg_t *pg)
{
	req_t *r = pg->inflight;
	pg->inflight = NULL;
	if (pg->result) {
		PQclear(pg->result);
		pg->result = NULL;
	}
	if (r) {
		r->cb(pg, NULL, r->arg);
		free_req(r);
	}
	/* Detached first: callbacks may queue new queries, which wait for the
	 * reconnection instead of failing in a loop. */
	req_t *list = pg->head;
	pg->head = pg->tail = NULL;
	while ((r = list)) {
		list = r->next;
		r->cb(pg, NULL, r->arg);
		free_req(r);
	}
}

static void unwatch(durable__pg_t *pg);

static void drop_statement(stmt_t *s)
{
	free(s->sql);
	s->sql = NULL;
	s->ready = 0;
}

static void drop_connection(durable__pg_t *pg)
{
	unwatch(pg);
	if (pg->conn) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
	for (int i = 0; i < PG_STATEMENTS; i++)
		drop_statement(&pg->stmts[i]);
	pg->preparing = NULL;
}

static void broken(durable__pg_t *pg, const char *why);

static void on_retry(uv_timer_t *t)
{
	durable__pg_t *pg = t->data;
	if (pg->connecting)
		broken(pg, "connecting timed out");
	else
		connect_now(pg);
}

/* libpq's messages span lines; a log line must not. */
static const char *one_line(const char *msg, char *buf, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; msg[i] && j + 1 < len; i++) {
		char c = msg[i] == '\n' || msg[i] == '\t' ? ' ' : msg[i];
		if (c != ' ' || (j > 0 && buf[j - 1] != ' '))
			buf[j++] = c;
	}
	while (j > 0 && buf[j - 1] == ' ')
		j--;
	buf[j] = 0;
	return buf;
}

static void on_notice(void *arg, const char *message)
{
	char buf[512];
	durable__log("NOTICE", "connection %s: %s", ((durable__pg_t *)arg)->name, one_line(message, buf, sizeof(buf)));
}

static void broken(durable__pg_t *pg, const char *why)
{
	char buf[512];
	if (!pg->closing)
		durable__log("WARN", "connection %s lost (%s); reconnecting in %llu ms", pg->name,
			     one_line(why, buf, sizeof(buf)), (unsigned long long)pg->backoff_ms);
	pg->connecting = 0;
	drop_connection(pg);
	fail_all(pg);
	if (pg->closing)
		return;
	uv_timer_start(&pg->retry, on_retry, pg->backoff_ms, 0);
	pg->backoff_ms = pg->backoff_ms * 2 > 5000 ? 5000 : pg->backoff_ms * 2;
}

static void set_events(durable__pg_t *pg, int events)
{
	if (pg->poll && events != pg->events) {
		pg->events = events;
		uv_poll_start(&pg->poll->handle, events, on_poll);
	}
}

/* r's statement on this connection, made (not yet prepared) if new; NULL
 * for a call not marked prepared, or when the table is full (sent
 * unprepared then). */
static stmt_t *statement(durable__pg_t *pg, const req_t *r)
{
	stmt_t *free_slot = NULL;
	if (!r->reads || !r->reads->prepared)
		return NULL;
	for (int i = 0; i < PG_STATEMENTS; i++) {
		if (pg->stmts[i].sql && strcmp(pg->stmts[i].sql, r->sql) == 0)
			return &pg->stmts[i];
		if (!pg->stmts[i].sql && !free_slot)
			free_slot = &pg->stmts[i];
	}
	if (!free_slot || !(free_slot->sql = strdup(r->sql)))
		return NULL;
	snprintf(free_slot->name, sizeof(free_slot->name), "durable_%u", ++pg->stmt_seq);
	free_slot->ready = 0;
	return free_slot;
}

/* Whether r, a prepared call, was refused at Bind, before it ran, because
 * what it calls changed its answer's columns since it was prepared (an
 * ALTER EXTENSION UPDATE): plancache's own error, told by its routine's
 * name, which no translation of the message changes. */
static int stale_statement(const req_t *r, PGresult *res)
{
	const char *routine = res ? PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION) : NULL;
	return r->reads && r->reads->prepared && strcmp(durable__pg_sqlstate(res), "0A000") == 0 && routine &&
	       strcmp(routine, "RevalidateCachedQuery") == 0;
}

/* Sends the call in flight: its statement prepared first where it is not
 * yet (on_poll sends the call once that is answered). */
static void send_inflight(durable__pg_t *pg)
{
	req_t *r = pg->inflight;
	stmt_t *s = statement(pg, r);
	const char *const *params = (const char *const *)r->params;
	int sent;
	if (s && !s->ready) {
		pg->preparing = s;
		sent = PQsendPrepare(pg->conn, s->name, r->sql, r->nparams, NULL);
	} else if (s) {
		sent = PQsendQueryPrepared(pg->conn, s->name, r->nparams, params, NULL, NULL, 0);
	} else {
		sent = PQsendQueryParams(pg->conn, r->sql, r->nparams, NULL, params, NULL, NULL, 0);
	}
	if (!sent) {
		broken(pg, PQerrorMessage(pg->conn));
		return;
	}
	int f = PQflush(pg->conn);
	if (f < 0)
		broken(pg, PQerrorMessage(pg->conn));
	else
		set_events(pg, f == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* Sends the next queued query if none is in flight. */
static void dispatch(durable__pg_t *pg)
{
	if (!pg->conn || pg->connecting || pg->inflight || !pg->head)
		return;
	req_t *r = pg->head;
	pg->head = r->next;
	if (!pg->head)
		pg->tail = NULL;
	pg->inflight = r;
	send_inflight(pg);
}

static void deliver_notifies(durable__pg_t *pg)
{
	PGnotify *n;
	while (pg->conn && (n = PQnotifies(pg->conn))) {
		if (pg->notify)
			pg->notify(pg, n->relname, pg->arg);
		PQfreemem(n);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	durable__pg_t *pg = h->data;
	/* While connecting, an error on the socket (libuv reports POLLERR as
	 * UV_EBADF: a refused connection) is libpq's to read: PQconnectPoll
	 * then tries the next host of a multi-host string. */
	if (pg->conn && pg->connecting) {
		connect_step(pg);
		return;
	}
	if (status < 0 && status != UV_EAGAIN) {
		broken(pg, uv_strerror(status));
		return;
	}
	if (!pg->conn)
		return;
	if (events & UV_WRITABLE) {
		int f = PQflush(pg->conn);
		if (f < 0) {
			broken(pg, PQerrorMessage(pg->conn));
			return;
		}
		set_events(pg, f == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
	}
	if (!(events & UV_READABLE))
		return;
	if (!PQconsumeInput(pg->conn)) {
		broken(pg, PQerrorMessage(pg->conn));
		return;
	}
	/* Drain results to NULL: the last one is the query's (an error wins). */
	while (pg->conn && pg->inflight && !PQisBusy(pg->conn)) {
		PGresult *res = PQgetResult(pg->conn);
		if (res) {
			if (!pg->result || PQresultStatus(pg->result) == PGRES_TUPLES_OK ||
			    PQresultStatus(pg->result) == PGRES_COMMAND_OK) {
				PQclear(pg->result);
				pg->result = res;
			} else {
				PQclear(res);
			}
			continue;
		}
		req_t *r = pg->inflight;
		if (pg->preparing) {
			/* the statement is prepared: the call runs now. One the
			 * server refused (a function missing) answers the call,
			 * as its Parse would have unprepared. */
			stmt_t *s = pg->preparing;
			pg->preparing = NULL;
			if (durable__pg_status(pg->result) == 0) {
				s->ready = 1;
				PQclear(pg->result);
				pg->result = NULL;
				send_inflight(pg);
				continue;
			}
			drop_statement(s);
		} else if (!r->resent && stale_statement(r, pg->result)) {
			/* it did not run: prepared again, under a new name */
			durable__log("INFO", "connection %s: %s is prepared again: what it calls changed its "
				     "answer's columns", pg->name, r->reads->name);
			stmt_t *s = statement(pg, r);
			if (s)
				drop_statement(s);
			r->resent = 1;
			PQclear(pg->result);
			pg->result = NULL;
			send_inflight(pg);
			continue;
		}
		PGresult *done = pg->result;
		pg->inflight = NULL;
		pg->result = NULL;
		/* An error that came with the end of the connection (a backend
		 * terminated by a shutdown or a failover) says the query's fate is
		 * unknown, as a plain broken connection does: report it as one. */
		if (PQstatus(pg->conn) == CONNECTION_BAD && durable__pg_status(done) < 0) {
			PQclear(done);
			done = NULL;
		}
		/* the columns numbered once: what is missing is read from them */
		durable__pg_reading_t outer = durable__pg_read_begin(done, r->reads);
		const char *missing = durable__pg_status(done) == 0 ? durable__pg_read_missing() : NULL;
		if (missing) {
			durable__log("ERROR", "connection %s: the answer to %s has no column \"%s\" (the store "
				     "and this worker disagree: a renamed column?); the call counts as failed",
				     pg->name, r->reads->name, missing);
			durable__pg_read_end(outer);
			PQclear(done);
			done = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
			outer = durable__pg_read_begin(done, NULL);   /* nothing to read in it */
		}
		/* a callback that closes a connection runs others' (with no answer) */
		r->cb(pg, done, r->arg);
		durable__pg_read_end(outer);
		PQclear(done);
		free_req(r);
		if (pg->closing)
			return;
		dispatch(pg);
	}
	deliver_notifies(pg);
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_BAD)
		broken(pg, "connection bad");
}

static void unwatch(durable__pg_t *pg)
{
	if (pg->poll) {
		uv_poll_stop(&pg->poll->handle);
		uv_close((uv_handle_t *)&pg->poll->handle, poller_closed);
		pg->poll = NULL;
	}
}

/* Watches libpq's current socket for events, through a dup of it. While
 * connecting, libpq may close its socket and open another for the next host
 * of a multi-host string, and the new one can get the old one's number: our
 * dup would still be the old, dead socket (EBADF, or no events at all). So
 * each connection step watches a fresh dup (renew); once connected, the
 * socket no longer changes. */
static int watch(durable__pg_t *pg, int events, int renew)
{
	int sock = PQsocket(pg->conn);
	if (sock < 0)
		return -EBADF;
	if (pg->poll && (renew || pg->poll->watched != sock))
		unwatch(pg);
	if (!pg->poll) {
		poller_t *p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->watched = sock;
		if ((p->fd = fcntl(sock, F_DUPFD_CLOEXEC, 0)) < 0 || uv_poll_init(pg->loop, &p->handle, p->fd) < 0) {
			if (p->fd >= 0)
				close(p->fd);
			free(p);
			return -EBADF;
		}
		p->handle.data = pg;
		pg->poll = p;
		pg->events = 0;
	}
	set_events(pg, events);
	return 0;
}

static void connected(durable__pg_t *pg)
{
	pg->connecting = 0;
	uv_timer_stop(&pg->retry);
	PQsetnonblocking(pg->conn, 1);
	PQsetNoticeProcessor(pg->conn, on_notice, pg);
	if (watch(pg, UV_READABLE, 0) < 0) {
		broken(pg, "cannot watch the socket");
		return;
	}
	if (pg->backoff_ms > 100)
		durable__log("INFO", "connection %s re-established", pg->name);
	pg->backoff_ms = 100;
	if (pg->ready)
		pg->ready(pg, NULL, pg->arg);
	dispatch(pg);
}

static void connect_step(durable__pg_t *pg)
{
	switch (PQconnectPoll(pg->conn)) {
	case PGRES_POLLING_OK:
		connected(pg);
		return;
	case PGRES_POLLING_READING:
		if (watch(pg, UV_READABLE, 1) < 0)
			broken(pg, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (watch(pg, UV_WRITABLE, 1) < 0)
			broken(pg, "cannot watch the socket");
		return;
	default:
		broken(pg, PQerrorMessage(pg->conn));
		return;
	}
}

static void connect_now(durable__pg_t *pg)
{
	if (pg->closing)
		return;
	pg->conn = PQconnectStart(pg->dsn);
	if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
		broken(pg, pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
		return;
	}
	pg->connecting = 1;
	uv_timer_start(&pg->retry, on_retry, CONNECT_TIMEOUT_MS, 0);
	/* libpq: start as if PQconnectPoll had returned PGRES_POLLING_WRITING */
	if (watch(pg, UV_WRITABLE, 1) < 0)
		broken(pg, "cannot watch the socket");
}

int durable__pg_new(uv_loop_t *loop, const char *dsn, const char *name, durable__pg_event_cb ready,
		    durable__pg_event_cb notify, void *arg, durable__pg_t **out)
{
	durable__pg_t *pg = calloc(1, sizeof(*pg));
	if (!pg || !(pg->dsn = strdup(dsn ? dsn : "")) || !(pg->name = strdup(name))) {
		if (pg)
			free(pg->dsn);
		free(pg);
		return -ENOMEM;
	}
	pg->loop = loop;
	pg->ready = ready;
	pg->notify = notify;
	pg->arg = arg;
	pg->backoff_ms = 100;
	uv_timer_init(loop, &pg->retry);
	pg->retry.data = pg;
	*out = pg;
	connect_now(pg);
	return 0;
}

int durable__pg_query(durable__pg_t *pg, const char *sql, int nparams, const char *const *params,
		      durable__pg_cb cb, void *arg)
{
	return durable__pg_call(pg, NULL, sql, nparams, params, cb, arg);
}

int durable__pg_call(durable__pg_t *pg, const durable__pg_reads_t *reads, const char *sql, int nparams,
		     const char *const *params, durable__pg_cb cb, void *arg)
{
	if (pg->closing)
		return -ECANCELED;
	req_t *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->sql = strdup(sql);
	r->params = calloc((size_t)nparams + 1, sizeof(char *));
	r->nparams = nparams;
	int ok = r->sql && r->params;
	for (int i = 0; ok && i < nparams; i++)
		if (params[i] && !(r->params[i] = strdup(params[i])))
			ok = 0;
	if (!ok) {
		free_req(r);
		return -ENOMEM;
	}
	r->reads = reads;
	r->cb = cb;
	r->arg = arg;
	if (pg->tail)
		pg->tail->next = r;
	else
		pg->head = r;
	pg->tail = r;
	dispatch(pg);
	return 0;
}

char *durable__pg_quote_ident(durable__pg_t *pg, const char *name)
{
	if (!pg || !pg->conn)
		return NULL;
	char *q = PQescapeIdentifier(pg->conn, name, strlen(name));
	char *out = q ? strdup(q) : NULL;
	PQfreemem(q);
	return out;
}

int durable__pg_busy(durable__pg_t *pg)
{
	return pg && (pg->inflight || pg->head);
}

int durable__pg_connected(durable__pg_t *pg)
{
	return pg && pg->conn != NULL;
}

static void retry_closed(uv_handle_t *h)
{
	durable__pg_t *pg = h->data;
	free(pg->dsn);
	free(pg->name);
	free(pg);
}

void durable__pg_close(durable__pg_t *pg)
{
	if (!pg || pg->closing)
		return;
	pg->closing = 1;
	uv_timer_stop(&pg->retry);
	/* A query still running in the server (the query long-poll) would go on
	 * after we hang up, and could take work nobody will answer: cancel it. */
	if (pg->conn && pg->inflight) {
		char err[256];
		PGcancel *c = PQgetCancel(pg->conn);
		if (c) {
			PQcancel(c, err, sizeof(err));
			PQfreeCancel(c);
		}
	}
	drop_connection(pg);
	fail_all(pg);
	uv_close((uv_handle_t *)&pg->retry, retry_closed);
}

/* The answer whose callback runs, with its call's columns' numbers, found
 * once when it came: a PQfnumber at every value read (it copies and
 * lowercases the name, then compares it with each column's) was 4.5% of the
 * worker's instructions. The loop's thread's own: another thread (the test
 * harness's caller, beside the worker it runs) reads its answers by name. */
static _Thread_local durable__pg_reading_t reading;

durable__pg_reading_t durable__pg_read_begin(PGresult *res, const durable__pg_reads_t *reads)
{
	durable__pg_reading_t outer = reading;
	reading = (durable__pg_reading_t){.res = res, .reads = reads};
	for (const char *const *c = res && reads ? reads->columns : NULL; c && *c; c++) {
		if (reading.ncols == DURABLE__PG_READ_MAX)
			break;   /* the rest by PQfnumber */
		reading.cols[reading.ncols++] = PQfnumber(res, *c);
	}
	return outer;
}

const char *durable__pg_read_missing(void)
{
	const char *const *c = reading.res && reading.reads ? reading.reads->columns : NULL;
	for (int i = 0; c && c[i]; i++)
		if ((i < reading.ncols ? reading.cols[i] : PQfnumber(reading.res, c[i])) < 0)
			return c[i];
	return NULL;
}

void durable__pg_read_end(durable__pg_reading_t outer)
{
	reading = outer;
}

/* name's column in res: as found when the answer came if res is the one
 * being read and its call names the column, else by PQfnumber */
static int column(PGresult *res, const char *name)
{
	if (res && res == reading.res)
		for (int i = 0; i < reading.ncols; i++) {
			const char *c = reading.reads->columns[i];
			if (c == name || strcmp(c, name) == 0)
				return reading.cols[i];
		}
	return PQfnumber(res, name);
}

const char *durable__pg_col(PGresult *res, int row, const char *name)
{
	int col = column(res, name);
	const char *v = col < 0 ? NULL : PQgetvalue(res, row, col);
	if (!v)
		durable__log("ERROR", "read of column \"%s\" row %d, which the answer lacks: its call does not "
			     "name it (durable__pg_call)", name, row);
	return v ? v : "";
}
