/* Connections to the store and the one way to run a statement: text
 * parameters in, the first cell out, and the store's error kept whole
 * (SQLSTATE, message, detail, hint) so the browser can show it. */
#ifndef WEB_DB_H
#define WEB_DB_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

struct db_err {
	char sqlstate[6];
	char message[512];
	char detail[512];
	char hint[512];
};

/* A connection guarded by a mutex, opened lazily and reopened when broken.
 * user and password are NULL for the daemon's own role (PG* or --dsn). */
struct db_slot {
	pthread_mutex_t mu;
	PGconn *conn;
	char *user;
	char *password;
	bool read_only; /* default_transaction_read_only: the store refuses writes */
};

extern const char *db_dsn; /* --dsn, or "" for the PG* variables */

void db_slot_init(struct db_slot *s, const char *user, const char *password, bool read_only);
void db_slot_fini(struct db_slot *s);
/* Connects as user/password (NULLs: the daemon's role); NULL and e filled on failure. */
PGconn *db_connect(const char *user, const char *password, bool read_only, struct db_err *e);

/* Runs sql with n text parameters (NULL entries are SQL NULL) on the slot
 * (locking it) and returns the first column of the first row, malloc'd
 * ("" for no row, NULL cell as "null"); on error returns NULL and fills e. */
char *db_value(struct db_slot *s, const char *sql, int n, const char *const *params, struct db_err *e);
/* The same on a connection the caller owns. */
char *db_value_conn(PGconn *c, const char *sql, int n, const char *const *params, struct db_err *e);
void db_err_from(struct db_err *e, const PGresult *r, PGconn *c);
void db_err_set(struct db_err *e, const char *sqlstate, const char *message, const char *hint);

#endif
