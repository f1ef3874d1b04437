/*
 * sql.c against the store in PG*: every call's parameters and columns as
 * the store describes them (a renamed column or argument fails here), and
 * the seam's own checks (db.c): an answer without a column its call names
 * is EIO with the reason, and db_col reads by name. TAP on stdout; exits
 * non-zero on any failure. Built with the daemon's sources (but main.c) by
 * `make tests/sql_contract`; run by t_sql_contract.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include "../src/fs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fsconf conf; /* main.c's, which this test leaves out */

static int failures;

static void check(bool good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool good, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s - ", good ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures += !good;
}

static int count(const char *const *names)
{
	int n = 0;
	while (names && names[n])
		n++;
	return n;
}

/* The store's description of call: its parameters, then its columns, in order. */
static void describe(PGconn *c, const struct sql_call *call)
{
	PGresult *p = PQprepare(c, "", call->text, call->nparams, NULL);
	if (PQresultStatus(p) != PGRES_COMMAND_OK) {
		check(false, "%s: the store refuses it: %s", call->name,
		      PQresultErrorField(p, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(p, PG_DIAG_MESSAGE_PRIMARY)
								     : PQerrorMessage(c));
		PQclear(p);
		return;
	}
	PQclear(p);
	PGresult *d = PQdescribePrepared(c, "");
	if (PQresultStatus(d) != PGRES_COMMAND_OK) {
		check(false, "%s: cannot be described: %s", call->name, PQerrorMessage(c));
		PQclear(d);
		return;
	}
	check(PQnparams(d) == call->nparams, "%s: takes %d parameters (the store says %d)", call->name,
	      call->nparams, PQnparams(d));
	if (call->columns) {
		struct buf got = { 0 };
		for (int i = 0; i < PQnfields(d); i++)
			buf_printf(&got, "%s%s", i ? " " : "", PQfname(d, i));
		bool same = PQnfields(d) == count(call->columns);
		for (int i = 0; same && i < PQnfields(d); i++)
			same = strcmp(PQfname(d, i), call->columns[i]) == 0;
		struct buf want = { 0 };
		for (int i = 0; call->columns[i]; i++)
			buf_printf(&want, "%s%s", i ? " " : "", call->columns[i]);
		check(same, "%s: returns the columns it names [%s] (the store says [%s])", call->name,
		      want.data ? want.data : "", got.data ? got.data : "");
		buf_free(&got);
		buf_free(&want);
	}
	PQclear(d);
}

static void test_calls(void)
{
	struct db_err e = { "" };
	PGconn *c = db_connect(&e);
	check(c != NULL, "connects to the store in PG* (%s)", e.msg);
	if (!c)
		return;
	int n = 0;
	for (const struct sql_call *const *call = sql_calls; *call; call++, n++) {
		for (const struct sql_call *const *other = sql_calls; other != call; other++)
			if (strcmp((*other)->name, (*call)->name) == 0)
				check(false, "two calls are named \"%s\"", (*call)->name);
		describe(c, *call);
	}
	check(n > 50, "sql_calls lists the daemon's calls (%d)", n);
	PQfinish(c);
}

#define COLUMNS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The seam's checks, on real answers of the store. */
static void test_seam(void)
{
	struct db_err e = { "" };
	PGresult *r = (PGresult *)1;
	const struct sql_call lacking = {
		"an answer without its column", "SELECT 1 AS found", 0, COLUMNS("found", "status"),
	};
	int rc = db_query(&r, &e, true, &lacking, NULL);
	check(rc == -EIO, "an answer that lacks a column its call names is EIO (got %d)", rc);
	check(r == NULL, "and no answer is handed over");
	check(strstr(e.msg, "\"an answer without its column\"") && strstr(e.msg, "no column \"status\""),
	      "the reason names the call and the column: %s", e.msg);

	const struct sql_call renamed = {
		"a column named apart", "SELECT 'RUNNING' AS state", 0, COLUMNS("status"),
	};
	check(db_query(&r, &e, true, &renamed, NULL) == -EIO && strstr(e.msg, "no column \"status\""),
	      "a column named otherwise than its call says is EIO, not a read of another column");

	e.msg[0] = '\0';
	rc = db_query(&r, &e, true, &sql_payload_limit, NULL);
	check(rc == 0, "a call whose answer has its columns succeeds (%s)", e.msg);
	if (rc == 0) {
		check(!db_null(r, 0, "bytes") && strtoll(db_col(r, 0, "bytes"), NULL, 10) > 0,
		      "db_col reads a column by name: bytes = %s", db_col(r, 0, "bytes"));
		check(strcmp(db_col(r, 0, "nonesuch"), "") == 0 && db_null(r, 0, "nonesuch") &&
		      db_len(r, 0, "nonesuch") == 0 && !db_true(r, 0, "nonesuch"),
		      "a name the answer lacks reads as NULL, not as another column");
		PQclear(r);
	}

	const struct sql_call several = {
		"several columns", "SELECT true AS yes, false AS no, NULL::text AS nothing, 'abc' AS text",
		0, COLUMNS("yes", "no", "nothing", "text"),
	};
	rc = db_query(&r, &e, true, &several, NULL);
	check(rc == 0, "several columns (%s)", e.msg);
	if (rc == 0) {
		check(db_true(r, 0, "yes") && !db_true(r, 0, "no"), "db_true reads booleans by name");
		check(db_null(r, 0, "nothing") && !db_null(r, 0, "text"), "db_null tells NULL by name");
		check(db_len(r, 0, "text") == 3 && strcmp(db_col(r, 0, "text"), "abc") == 0,
		      "db_len and db_col agree on a value");
		PQclear(r);
	}

	check(sql_returns(&sql_workflow_files, "status") && sql_returns(&sql_workflow_files, "paused") &&
	      !sql_returns(&sql_workflow_files, "history") && !sql_returns(&sql_signal_workflow, "status"),
	      "sql_returns knows a call's columns");
}

int main(void)
{
	if (db_init(getenv("DURABLEFS_TEST_DSN"), 30000) != 0)
		return 2;
	test_calls();
	test_seam();
	db_shutdown();
	printf("# %s\n", failures ? "sql contract: FAILED" : "sql contract: all passed");
	return failures ? 1 : 0;
}
