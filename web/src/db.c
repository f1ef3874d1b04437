#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

const char *db_dsn = "";

void db_err_set(struct db_err *e, const char *sqlstate, const char *message, const char *hint)
{
	memset(e, 0, sizeof *e);
	snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
	snprintf(e->message, sizeof e->message, "%s", message);
	snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "");
}

void db_err_from(struct db_err *e, const PGresult *r, PGconn *c)
{
	memset(e, 0, sizeof *e);
	const char *f;
	if (r && (f = PQresultErrorField(r, PG_DIAG_SQLSTATE)))
		snprintf(e->sqlstate, sizeof e->sqlstate, "%s", f);
	else
		snprintf(e->sqlstate, sizeof e->sqlstate, "08006");
	if (r && (f = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)))
		snprintf(e->message, sizeof e->message, "%s", f);
	else
		snprintf(e->message, sizeof e->message, "%s", c ? PQerrorMessage(c) : "no connection");
	if (r && (f = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)))
		snprintf(e->detail, sizeof e->detail, "%s", f);
	if (r && (f = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT)))
		snprintf(e->hint, sizeof e->hint, "%s", f);
	size_t n = strlen(e->message);
	while (n && e->message[n - 1] == '\n')
		e->message[--n] = 0;
}

PGconn *db_connect(const char *user, const char *password, bool read_only, struct db_err *e)
{
	const char *keys[6], *vals[6];
	int k = 0;
	keys[k] = "dbname", vals[k++] = db_dsn; /* expanded: a DSN or "" */
	if (user)
		keys[k] = "user", vals[k++] = user;
	if (user)
		keys[k] = "password", vals[k++] = password ? password : "";
	keys[k] = "application_name", vals[k++] = "durable-web";
	if (read_only)
		keys[k] = "options", vals[k++] = "-c default_transaction_read_only=on";
	keys[k] = NULL, vals[k] = NULL;
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		/* libpq says "connection to server ... failed: FATAL:  password
		 * authentication failed for user ...": keep what the server said */
		const char *fatal = strstr(m, "FATAL:  ");
		db_err_set(e, "28P01", fatal ? fatal + 8 : m,
			   "Check the role name and password, and that the role may log in.");
		size_t n = strlen(e->message);
		while (n && e->message[n - 1] == '\n')
			e->message[--n] = 0;
		if (!fatal) {
			snprintf(e->sqlstate, sizeof e->sqlstate, "08006");
			snprintf(e->hint, sizeof e->hint, "Is the store running? durable-web reaches it with --dsn or the PG* variables.");
		}
		PQfinish(c);
		return NULL;
	}
	return c;
}

void db_slot_init(struct db_slot *s, const char *user, const char *password, bool read_only)
{
	pthread_mutex_init(&s->mu, NULL);
	s->conn = NULL;
	s->user = user ? strdup(user) : NULL;
	s->password = password ? strdup(password) : NULL;
	s->read_only = read_only;
}

void db_slot_fini(struct db_slot *s)
{
	if (s->conn)
		PQfinish(s->conn);
	if (s->password) {
		sodium_memzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->user);
	pthread_mutex_destroy(&s->mu);
}

char *db_value_conn(PGconn *c, const char *sql, int n, const char *const *params, struct db_err *e)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		db_err_from(e, r, c);
		PQclear(r);
		return NULL;
	}
	char *out;
	if (st != PGRES_TUPLES_OK || PQntuples(r) == 0)
		out = strdup("");
	else if (PQgetisnull(r, 0, 0))
		out = strdup("null");
	else
		out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!out)
		db_err_set(e, "53200", "out of memory", NULL);
	return out;
}

char *db_value(struct db_slot *s, const char *sql, int n, const char *const *params, struct db_err *e)
{
	pthread_mutex_lock(&s->mu);
	char *out = NULL;
	/* a connection found broken is replaced before the statement; one that
	 * breaks during it is not retried (the statement may have committed) */
	if (s->conn && PQstatus(s->conn) != CONNECTION_OK) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	if (s->conn || (s->conn = db_connect(s->user, s->password, s->read_only, e)))
		out = db_value_conn(s->conn, sql, n, params, e);
	pthread_mutex_unlock(&s->mu);
	return out;
}
