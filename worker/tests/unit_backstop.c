/* The lost wake-up judge's count of what a backstop poll found
 * (durable__backstop_found, worker.c): a task the store says waited ready
 * less than the quiet spell may have its notification on the way and is not
 * kept; one that waited longer, or whose wait is unknown (a 0.1 store, a
 * lease already gone), is; the answer of a poll that was not a backstop
 * poll keeps nothing. */
#include <string.h>
#include "check.h"
#include "runtime.h"

/* A poll's answer: n rows, with a column "waited" in seconds (NULL entries
 * are SQL NULLs) when waited is given, none otherwise. */
static PGresult *answer(int n, const char *const *waited)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc cols[2] = {
		{.name = "task_token", .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1},
		{.name = "waited", .format = 0, .typid = 1700, .typlen = -1, .atttypmod = -1},
	};
	if (!res || !PQsetResultAttrs(res, waited ? 2 : 1, cols))
		return res;
	for (int i = 0; i < n; i++) {
		PQsetvalue(res, i, 0, "a1.1", 4);
		if (waited)
			PQsetvalue(res, i, 1, (char *)waited[i], waited[i] ? (int)strlen(waited[i]) : -1);
	}
	return res;
}

static int found(int flag, int n, const char *const *waited, int *flag_after)
{
	int unannounced = 0;
	PGresult *res = answer(n, waited);
	durable__backstop_found(&flag, &unannounced, res, "activity");
	PQclear(res);
	*flag_after = flag;
	return unannounced;
}

int main(void)
{
	int flag;
	const char *mixed[] = {"0.050", "2.500", NULL, "2.499", "1.000", "4.9"};
	CHECK(found(1, 6, mixed, &flag) == 3, "kept: 2.5 s, unknown, 4.9 s; not: 50 ms, 2.499 s, 1 s");
	CHECK(flag == 0, "the flag is cleared");
	const char *fresh[] = {"0", "0.3", "1.7"};
	CHECK(found(1, 3, fresh, &flag) == 0, "tasks made ready shortly before the poll are not kept");
	CHECK(found(1, 3, NULL, &flag) == 3, "without the column (a 0.1 store) every find is kept");
	const char *old[] = {"4.2"};
	CHECK(found(0, 1, old, &flag) == 0, "a poll that was not a backstop poll keeps nothing");
	CHECK(flag == 0, "and the flag stays cleared");
	CHECK(found(1, 0, mixed, &flag) == 0 && flag == 0, "an empty answer keeps nothing and clears the flag");

	durable_worker_t w;
	memset(&w, 0, sizeof(w));
	CHECK(strstr(durable__backstop_column(&w, 1), "durable.task_schedule_to_start(task_token)") != NULL,
	      "a backstop poll asks how long each task waited");
	CHECK(strcmp(durable__backstop_column(&w, 0), "") == 0, "another poll asks nothing more");
	CHECK(durable__backstop_unsupported(&w, NULL) == 0, "a broken connection is no answer about the store");
	w.no_schedule_to_start = 1;
	CHECK(strcmp(durable__backstop_column(&w, 1), "") == 0, "nor does a backstop poll of a 0.1 store");
	return CHECK_DONE();
}
