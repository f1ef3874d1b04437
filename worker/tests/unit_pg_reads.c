/* Answers read by column name (pgconn.c): a call names the columns its
 * readers read, and an answer that lacks one is found (durable__pg_call
 * then fails the call, logged); a read of a column the answer lacks, or of
 * a row it does not have, reads "" and is logged as the bug it is, never
 * silently. */
#include <string.h>
#include "check.h"
#include "runtime.h"

static char lines[8][512];
static int nlines;

static void capture(const char *level, const char *message, void *arg)
{
	(void)arg;
	if (nlines < 8)
		snprintf(lines[nlines++], sizeof(lines[0]), "%s %s", level, message);
}

/* An answer of one row with the given text columns, each value its name. */
static PGresult *answer(const char *const *names)
{
	PGresAttDesc cols[40];
	int n = 0;
	for (; names[n]; n++)
		cols[n] = (PGresAttDesc){.name = (char *)names[n], .format = 0, .typid = 25, .typlen = -1,
					 .atttypmod = -1};
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (!res || !PQsetResultAttrs(res, n, cols))
		return res;
	for (int i = 0; i < n; i++)
		PQsetvalue(res, 0, i, (char *)names[i], (int)strlen(names[i]));
	return res;
}

static const durable__pg_reads_t wait = {"durable.wait_for_query_tasks", (const char *const[]){"ready", NULL}, 0};
static const durable__pg_reads_t poll = {"durable.poll_activity_tasks",
					 (const char *const[]){"task_token", "attempt", "input", NULL}, 0};

/* what pgconn.c finds missing when res comes as the answer to reads: from
 * the numbers durable__pg_read_begin found */
static const char *missing_of(PGresult *res, const durable__pg_reads_t *reads)
{
	durable__pg_reading_t outer = durable__pg_read_begin(res, reads);
	const char *missing = durable__pg_read_missing();
	durable__pg_read_end(outer);
	return missing;
}

int main(void)
{
	durable_set_log_handler(capture, NULL);

	PGresult *renamed = answer((const char *const[]){"is_ready", NULL});
	const char *missing = missing_of(renamed, &wait);
	CHECK(missing && strcmp(missing, "ready") == 0, "a renamed INOUT column is found missing: %s", missing);
	PGresult *full = answer((const char *const[]){"input", "task_token", "attempt", "extra", NULL});
	CHECK(missing_of(full, &poll) == NULL, "every column there, in any order, extra ones too");
	PGresult *short_ = answer((const char *const[]){"task_token", "input", NULL});
	missing = missing_of(short_, &poll);
	CHECK(missing && strcmp(missing, "attempt") == 0, "the first column missing is named: %s", missing);
	CHECK(missing_of(short_, NULL) == NULL, "a call that reads nothing by name lacks nothing");
	/* past the DURABLE__PG_READ_MAX columns numbered at once */
	static char many_names[DURABLE__PG_READ_MAX + 2][8];
	const char *many[DURABLE__PG_READ_MAX + 3] = {0};
	for (int i = 0; i < DURABLE__PG_READ_MAX + 2; i++) {
		snprintf(many_names[i], sizeof(many_names[i]), "c%d", i);
		many[i] = many_names[i];
	}
	const durable__pg_reads_t wide = {"wide", many, 0};
	PGresult *all = answer(many);
	many[DURABLE__PG_READ_MAX + 1] = NULL;   /* the answer lacks the last one */
	PGresult *lacks = answer(many);
	many[DURABLE__PG_READ_MAX + 1] = many_names[DURABLE__PG_READ_MAX + 1];
	CHECK(missing_of(all, &wide) == NULL, "a call of %d columns, all there", DURABLE__PG_READ_MAX + 2);
	missing = missing_of(lacks, &wide);
	CHECK(missing && strcmp(missing, many_names[DURABLE__PG_READ_MAX + 1]) == 0,
	      "a column past the first %d found missing: %s", DURABLE__PG_READ_MAX, missing);
	PQclear(all);
	PQclear(lacks);

	CHECK(nlines == 0, "finding a missing column logs nothing by itself (the connection logs the call)");
	CHECK(strcmp(durable__pg_col(full, 0, "attempt"), "attempt") == 0, "a column is read by name");
	CHECK(nlines == 0, "and a good read logs nothing");
	CHECK(strcmp(durable__pg_col(renamed, 0, "ready"), "") == 0, "a column the answer lacks reads \"\"");
	CHECK(nlines == 1 && strstr(lines[0], "ERROR ") == lines[0] && strstr(lines[0], "\"ready\""),
	      "and is logged as an error naming the column: %s", lines[0]);
	CHECK(strcmp(durable__pg_col(full, 1, "attempt"), "") == 0, "a row the answer does not have reads \"\"");
	CHECK(nlines == 2 && strstr(lines[1], "ERROR ") == lines[1] && strstr(lines[1], "row 1"),
	      "and is logged: %s", lines[1]);

	/* while a callback reads an answer, its call's columns are numbered
	 * once (pgconn.c's durable__pg_read_begin): the same values as by
	 * name, a column its call does not name still found by name, another
	 * answer read by name, and an inner answer's numbers put back after */
	durable__pg_reading_t outer = durable__pg_read_begin(full, &poll);
	CHECK(strcmp(durable__pg_col(full, 0, "input"), "input") == 0 &&
	      strcmp(durable__pg_col(full, 0, "task_token"), "task_token") == 0 &&
	      strcmp(durable__pg_col(full, 0, "attempt"), "attempt") == 0, "a numbered answer reads its columns");
	char name[] = "attempt";   /* not the call's own string */
	CHECK(strcmp(durable__pg_col(full, 0, name), "attempt") == 0, "a column named by another string");
	CHECK(strcmp(durable__pg_col(full, 0, "extra"), "extra") == 0, "a column its call does not name");
	PGresult *other = answer((const char *const[]){"attempt", "task_token", "input", NULL});
	CHECK(strcmp(durable__pg_col(other, 0, "input"), "input") == 0, "another answer, by name");
	durable__pg_reading_t inner = durable__pg_read_begin(other, &poll);
	CHECK(strcmp(durable__pg_col(other, 0, "attempt"), "attempt") == 0, "an inner answer's columns");
	durable__pg_read_end(inner);
	CHECK(strcmp(durable__pg_col(full, 0, "task_token"), "task_token") == 0, "the outer answer's again");
	durable__pg_read_end(outer);
	CHECK(strcmp(durable__pg_col(other, 0, "task_token"), "task_token") == 0, "after, by name");
	CHECK(nlines == 2, "no read logged an error: %d lines", nlines);
	PQclear(other);

	PQclear(renamed);
	PQclear(full);
	PQclear(short_);
	return CHECK_DONE();
}
