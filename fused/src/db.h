/* The connection pool to PostgreSQL, answers read by column name, and the SQLSTATE-to-errno mapping. */
#ifndef DURABLEFS_DB_H
#define DURABLEFS_DB_H

#include "sql.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

struct db_err {
	char msg[512]; /* the server's message (or libpq's), for last-error */
};

/* Counters for the metrics file. */
extern atomic_long db_stat_queries, db_stat_errors, db_stat_connects;

/* dsn may be NULL or "" (then PG* variables decide). */
int db_init(const char *dsn, int statement_timeout_ms);
void db_shutdown(void);

/* A new connection outside the pool (for LISTEN), or NULL. */
PGconn *db_connect(struct db_err *e);

/*
 * A pooled connection that was checked for a dead socket and acts as the
 * current caller's role (callers.c): 0, or -EIO (no connection) or -EACCES
 * (the caller's role cannot be taken) with e->msg set.
 */
int db_get_conn(PGconn **out, struct db_err *e);
/* The same, NULL on failure. */
PGconn *db_get(struct db_err *e);
/* Back to the pool; a broken connection is closed instead. */
void db_put(PGconn *c);

/*
 * Runs a call of sql.c with its call->nparams text parameters (NULL = SQL
 * NULL) on a pooled connection. Returns 0 with *out set (caller PQclear()s
 * it) or a negative errno with e->msg set. An answer that lacks a column the
 * call names is -EIO, logged: the store and the daemon disagree, and no
 * value is read from it. Idempotent statements (reads) are retried once on a
 * fresh connection when the old one turns out to be dead, so a Postgres
 * restart costs readers nothing; writes are not retried (their fate is
 * unknown).
 */
int db_query(PGresult **out, struct db_err *e, bool idempotent, const struct sql_call *call,
	     const char *const *params);

/* Same, for a call whose outcome is all the caller wants: its answer is dropped. */
int db_run(struct db_err *e, bool idempotent, const struct sql_call *call, const char *const *params);

/* Same, on a connection the caller holds. */
int db_exec(PGconn *c, PGresult **out, struct db_err *e, const struct sql_call *call,
	    const char *const *params);

/*
 * A column of an answer, by the name its call gives it in sql.c (which
 * db_query checked the answer has; tests/t_sql_contract.sh checks that every
 * name read is one its call gives). A name the answer lacks all the same is
 * logged and reads as SQL NULL: "" and 0 bytes.
 */
const char *db_col(const PGresult *r, int row, const char *name);
bool db_null(const PGresult *r, int row, const char *name);
int db_len(const PGresult *r, int row, const char *name);
/* Whether a boolean column is true. */
bool db_true(const PGresult *r, int row, const char *name);

/* The answer to call, as an errno: 0 if it has every column the call names, or -EIO with e->msg set. */
int db_check_columns(const PGresult *r, const struct sql_call *call, struct db_err *e);

/*
 * Several statements in one transaction on one connection: all take effect
 * or none does (a refused ctl write of several verbs changes nothing).
 * Results are discarded. Never retried: after a lost connection the fate of
 * the COMMIT is unknown. Returns 0 or a negative errno with e->msg set.
 */
struct db_stmt {
	const struct sql_call *call;
	const char *params[6];
};
int db_transaction(const struct db_stmt *stmts, int n, struct db_err *e);

/* SQLSTATE to a positive errno (see docs/filesystem.md, "Errors"). */
int db_errno(const char *sqlstate);

#endif
