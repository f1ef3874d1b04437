/* A small thread-safe pool of libpq connections with reconnect on use; answers read by column name. */
#define _POSIX_C_SOURCE 200809L
#include "db.h"
#include "callers.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX 32

atomic_long db_stat_queries, db_stat_errors, db_stat_connects;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static PGconn *idle[POOL_MAX];
static int n_idle;
static char *conf_dsn;
static char conf_options[128];
static int conf_wait_ms; /* how long we wait for any answer before giving up on a server */

int db_init(const char *dsn, int statement_timeout_ms)
{
	conf_dsn = strdup(dsn ? dsn : "");
	if (!conf_dsn)
		return -ENOMEM;
	/*
	 * statement_timeout keeps a stuck server from hanging the mount; UTC
	 * makes every timestamp (and so every history line) byte-identical
	 * whichever connection rendered it, which stable offsets depend on.
	 */
	snprintf(conf_options, sizeof conf_options,
		 "-c statement_timeout=%d -c TimeZone=UTC -c client_min_messages=warning",
		 statement_timeout_ms);
	/* the server enforces statement_timeout; this catches a server that cannot */
	conf_wait_ms = statement_timeout_ms + 5000;
	return 0;
}

void db_shutdown(void)
{
	pthread_mutex_lock(&pool_lock);
	for (int i = 0; i < n_idle; i++)
		PQfinish(idle[i]);
	n_idle = 0;
	pthread_mutex_unlock(&pool_lock);
	free(conf_dsn);
	conf_dsn = NULL;
}

PGconn *db_connect(struct db_err *e)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", "options", NULL };
	const char *vals[] = { conf_dsn, "durablefs", "5", conf_options, NULL };
	/* expand_dbname: the DSN may be a full conninfo string or URI */
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	atomic_fetch_add(&db_stat_connects, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(e->msg, sizeof e->msg, "cannot connect to PostgreSQL: %s",
			 c ? PQerrorMessage(c) : "out of memory");
		e->msg[strcspn(e->msg, "\n")] = '\0';
		atomic_fetch_add(&db_stat_errors, 1);
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* A pooled connection whose server went away shows a readable socket. */
static bool conn_alive(PGconn *c)
{
	if (PQstatus(c) != CONNECTION_OK)
		return false;
	struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
	if (p.fd < 0)
		return false;
	if (poll(&p, 1, 0) > 0) {
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			return false;
		PGnotify *n;
		while ((n = PQnotifies(c)) != NULL)
			PQfreemem(n);
	}
	return true;
}

PGconn *db_get(struct db_err *e)
{
	PGconn *c;
	return db_get_conn(&c, e) == 0 ? c : NULL;
}

int db_get_conn(PGconn **out, struct db_err *e)
{
	*out = NULL;
	for (;;) {
		PGconn *c = NULL;
		pthread_mutex_lock(&pool_lock);
		if (n_idle > 0) {
			/* one that acts as the caller's role already saves a SET ROLE */
			int pick = n_idle - 1;
			while (pick > 0 && !callers_bound(idle[pick]))
				pick--;
			if (!callers_bound(idle[pick]))
				pick = n_idle - 1;
			c = idle[pick];
			idle[pick] = idle[--n_idle];
		}
		pthread_mutex_unlock(&pool_lock);
		bool pooled = c != NULL;
		if (!pooled && !(c = db_connect(e)))
			return -EIO;
		if (pooled && !conn_alive(c)) {
			logmsg("dropping a dead database connection");
			PQfinish(c);
			continue;
		}
		int rc = callers_bind(c, e);
		if (rc == 0)
			*out = c;
		else
			PQfinish(c); /* which role it acts as is unknown now */
		return rc;
	}
}

void db_put(PGconn *c)
{
	if (!c)
		return;
	if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQfinish(c);
		return;
	}
	pthread_mutex_lock(&pool_lock);
	if (n_idle < POOL_MAX) {
		idle[n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	PQfinish(c);
}

int db_errno(const char *st)
{
	static const struct { const char *state; int err; } map[] = {
		{ "DU001", ENOENT },	/* workflow not found */
		{ "DU002", EEXIST },	/* already started */
		{ "DU003", EPERM },	/* workflow not running: the state forbids it */
		{ "DU004", ESTALE },	/* lease lost: the token is stale */
		{ "DU005", ETIMEDOUT },	/* no worker answered the query in time */
		{ "DU006", EREMOTEIO },	/* the worker answered the query with an error */
		{ "DU007", ENOENT },	/* schedule not found */
		{ "DU008", EINVAL },	/* the workflow's validator rejected the update */
		{ "DU009", EREMOTEIO },	/* the workflow failed the update */
		{ "DU010", ETIMEDOUT },	/* accepted, not completed in time */
		{ "DU020", ENOENT },	/* activity not pending */
		{ "22023", EINVAL },	/* invalid_parameter_value */
		{ "22P02", EINVAL },	/* invalid_text_representation (bad JSON) */
		{ "22P05", EINVAL },	/* untranslatable_character */
		{ "22021", EINVAL },	/* character_not_in_repertoire */
		{ "54000", EFBIG },	/* program_limit_exceeded (payload too large) */
		{ "42501", EACCES },	/* insufficient_privilege */
		{ "57014", ETIMEDOUT },	/* query_canceled (statement_timeout) */
		{ "42883", ENOSYS },	/* undefined_function: the store is older */
		{ "0A000", EOPNOTSUPP },	/* feature_not_supported (reset past a child) */
	};
	if (!st)
		return EIO;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].state, st) == 0)
			return map[i].err;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0)
		return EIO; /* connection exceptions, shutdowns */
	if (strncmp(st, "22", 2) == 0)
		return EINVAL;
	return EIO;
}

/*
 * Waits for the answer to a sent statement, at most conf_wait_ms: a server
 * that stopped answering (SIGSTOP, a dead host on TCP) must not hang the
 * file operation forever. Returns the last result, or NULL on timeout.
 */
static PGresult *wait_result(PGconn *c, bool *timed_out)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (PQisBusy(c)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= conf_wait_ms) {
			*timed_out = true;
			return NULL;
		}
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
		if (poll(&p, 1, (int)(conf_wait_ms - spent)) < 0 && errno != EINTR)
			break;
		if (p.revents && !PQconsumeInput(c))
			break; /* the connection broke: PQgetResult reports it */
	}
	PGresult *last = NULL, *r;
	while ((r = PQgetResult(c)) != NULL) {
		PQclear(last);
		last = r;
	}
	return last;
}

int db_check_columns(const PGresult *r, const struct sql_call *call, struct db_err *e)
{
	for (const char *const *c = call->columns; c && *c; c++)
		if (PQfnumber(r, *c) < 0) {
			snprintf(e->msg, sizeof e->msg,
				 "the answer to \"%s\" has no column \"%s\" (sql.c names a column its SQL does"
				 " not return)", call->name, *c);
			logmsg("%s", e->msg);
			return -EIO;
		}
	return 0;
}

int db_exec(PGconn *c, PGresult **out, struct db_err *e, const struct sql_call *call,
	    const char *const *params)
{
	atomic_fetch_add(&db_stat_queries, 1);
	bool timed_out = false;
	PGresult *r = NULL;
	if (PQsendQueryParams(c, call->text, call->nparams, NULL, params, NULL, NULL, 0))
		r = wait_result(c, &timed_out);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		int rc = db_check_columns(r, call, e);
		if (rc) {
			atomic_fetch_add(&db_stat_errors, 1);
			PQclear(r);
			r = NULL;
		}
		*out = r;
		return rc;
	}
	atomic_fetch_add(&db_stat_errors, 1);
	if (timed_out) {
		snprintf(e->msg, sizeof e->msg, "the server did not answer within %d ms", conf_wait_ms);
		/* busy, so db_put will not pool it; closing the socket is the cancel */
		*out = NULL;
		return -ETIMEDOUT;
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (!msg)
		msg = PQerrorMessage(c);
	const char *hint = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_HINT) : NULL;
	/* psql's labels, on one line: the message, then its detail and hint */
	snprintf(e->msg, sizeof e->msg, "%s%s%s%s%s%s%s", state ? state : "", state ? ": " : "", msg,
		 detail && *detail ? "; detail: " : "", detail ? detail : "",
		 hint && *hint ? "; hint: " : "", hint ? hint : "");
	e->msg[strcspn(e->msg, "\n")] = '\0';
	int err = PQstatus(c) == CONNECTION_BAD ? EIO : db_errno(state);
	PQclear(r);
	*out = NULL;
	return -err;
}

int db_query(PGresult **out, struct db_err *e, bool idempotent, const struct sql_call *call,
	     const char *const *params)
{
	*out = NULL;
	for (int attempt = 0;; attempt++) {
		PGconn *c;
		int rc = db_get_conn(&c, e);
		if (rc)
			return rc;
		rc = db_exec(c, out, e, call, params);
		bool dead = PQstatus(c) == CONNECTION_BAD;
		db_put(c);
		if (rc == 0 || !dead || !idempotent || attempt > 0)
			return rc;
		logmsg("connection lost (%s); retrying once", e->msg);
	}
}

int db_run(struct db_err *e, bool idempotent, const struct sql_call *call, const char *const *params)
{
	PGresult *r;
	int rc = db_query(&r, e, idempotent, call, params);
	PQclear(r);
	return rc;
}

int db_transaction(const struct db_stmt *stmts, int n, struct db_err *e)
{
	PGconn *c = db_get(e);
	if (!c)
		return -EIO;
	PGresult *r;
	int rc = db_exec(c, &r, e, &sql_begin, NULL);
	PQclear(r);
	for (int i = 0; rc == 0 && i < n; i++) {
		rc = db_exec(c, &r, e, stmts[i].call, stmts[i].params);
		PQclear(r);
	}
	if (rc == 0) {
		rc = db_exec(c, &r, e, &sql_commit, NULL);
		PQclear(r);
	} else if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_ACTIVE) {
		struct db_err ignored;
		if (db_exec(c, &r, &ignored, &sql_rollback, NULL) == 0)
			PQclear(r);
	}
	db_put(c); /* not idle in a transaction, or not pooled */
	return rc;
}

/* The column's number; -1, logged, for a name the answer lacks (a bug: see db.h). */
static int column(const PGresult *r, const char *name)
{
	int col = PQfnumber(r, name);
	if (col < 0)
		logmsg("read of column \"%s\", which the answer lacks: its call in sql.c does not name it",
		       name);
	return col;
}

const char *db_col(const PGresult *r, int row, const char *name)
{
	int col = column(r, name);
	const char *v = col < 0 ? NULL : PQgetvalue(r, row, col);
	return v ? v : ""; /* NULL: a row the answer does not have */
}

bool db_null(const PGresult *r, int row, const char *name)
{
	int col = column(r, name);
	return col < 0 || PQgetisnull(r, row, col);
}

int db_len(const PGresult *r, int row, const char *name)
{
	int col = column(r, name);
	return col < 0 ? 0 : PQgetlength(r, row, col);
}

bool db_true(const PGresult *r, int row, const char *name)
{
	return strcmp(db_col(r, row, name), "t") == 0;
}
