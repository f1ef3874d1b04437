/* The subscription example (examples/subscription_billing.c) under the
 * harness: twelve monthly bills, eleven 30-day waits, all skipped, in a
 * namespace of its own. The server's clock and every other namespace's
 * stay where they were; the real time it took is printed, never asserted. */
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <durable_test.h>
#include "../../examples/subscription_billing.c"

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One value of a query on a connection of this test's own. */
static long long number(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);
	long long v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return v;
}

int main(void)
{
	PGconn *db = PQconnectdb("");
	durable_test_t *t;
	if (PQstatus(db) != CONNECTION_OK || durable_test_new(NULL, &t) < 0)
		return 2;
	DURABLE_EXPECT(durable_plugin_init(durable_test_worker(t)) == 0, "the example registers");
	long long server_offset = number(db, "SELECT extract(epoch FROM durable.clock_offset())::bigint");
	long long default_offset = number(db, "SELECT extract(epoch FROM durable.clock_offset('default'))::bigint");
	int64_t before = durable_test_now(t);

	double start = seconds();
	durable_test_start(t, "sub-1", "Subscription",
			   durable_test_json(t, "{s:s, s:i, s:i}", "customer", "c-1", "amount", 9, "months", 12));
	DURABLE_EXPECT_RESULT(t, "sub-1", "{\"months_billed\": 12, \"canceled\": false}");
	double took = seconds() - start;

	DURABLE_EXPECT_EVENTS(t, "sub-1", "ActivityTaskCompleted", 12);
	DURABLE_EXPECT_EVENTS(t, "sub-1", "TimerFired", 11);
	int64_t moved = durable_test_now(t) - before;
	DURABLE_EXPECT(moved >= 11 * 30 * 86400000LL, "the test namespace's clock moved 330 days: %lld ms",
		       (long long)moved);
	/* history times follow the namespace's clock: the last bill is 330 days after the first */
	json_t *h = durable_test_history(t, "sub-1");
	const char *first = NULL, *last = NULL;
	size_t i;
	json_t *ev;
	json_array_foreach(h, i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "event_type")) ?: "", "ActivityTaskCompleted") == 0) {
			last = json_string_value(json_object_get(ev, "event_time"));
			first = first ? first : last;
		}
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT extract(epoch FROM '%s'::timestamptz - '%s'::timestamptz)::bigint / 86400",
		 last ? last : "epoch", first ? first : "epoch");
	DURABLE_EXPECT(number(db, sql) == 330, "the history spans 330 days: %lld", number(db, sql));
	DURABLE_EXPECT(number(db, "SELECT extract(epoch FROM durable.clock_offset())::bigint") == server_offset,
		       "the server's clock did not move");
	DURABLE_EXPECT(number(db, "SELECT extract(epoch FROM durable.clock_offset('default'))::bigint") == default_offset,
		       "nor the default namespace's");
	printf("12 months of billing in %.3f s of real time\n", took);

	durable_test_free(t);
	PQfinish(db);
	return DURABLE_TEST_DONE();
}
