/*
 * poller.c: a minimal LISTEN/NOTIFY-driven task poller for the benchmarks.
 *
 * It leases tasks of one queue the way a worker does (woken by NOTIFY, then
 * polling until a poll comes back short), completes them at once, and records
 * each activity's schedule-to-start latency as the server measured it
 * (started_at - scheduled_at, one clock). It stops after --count tasks or
 * --seconds of wall time and prints "tasks N", "p50_ms X", "p99_ms Y", and
 * where its time went: "polls N" (of which "short_polls N" came back with
 * less than a batch), "poll_ms X" in the lease-and-complete statements,
 * "waits N" and "wait_ms X" waiting for a notification, and "backend_cpu_s X",
 * the CPU time of its server process (from /proc: the same machine).
 *
 *   bench-poller --kind activity|workflow --queue Q [--batch N] [--count N] [--seconds S]
 *                [--mode seqN|parN --activity-queue AQ]
 *
 * With --mode, workflow tasks are answered by durable_bench.decide() (the
 * benchmark fixtures) instead of with no commands: a scripted workflow that
 * runs N activities in sequence or in parallel on AQ.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

struct options
{
	const char *kind;
	const char *queue;
	int			batch;
	long		count;
	double		seconds;
	const char *mode;
	const char *activity_queue;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	o->kind = "activity";
	o->queue = NULL;
	o->batch = 100;
	o->count = 0;
	o->seconds = 60;
	o->mode = NULL;
	o->activity_queue = "";
	for (int i = 1; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--kind") == 0)
			o->kind = argv[i + 1];
		else if (strcmp(argv[i], "--queue") == 0)
			o->queue = argv[i + 1];
		else if (strcmp(argv[i], "--batch") == 0)
			o->batch = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0)
			o->count = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--mode") == 0)
			o->mode = argv[i + 1];
		else if (strcmp(argv[i], "--activity-queue") == 0)
			o->activity_queue = argv[i + 1];
		else
			return -1;
	}
	if (o->queue == NULL || o->batch < 1 ||
		(strcmp(o->kind, "activity") != 0 && strcmp(o->kind, "workflow") != 0))
		return -1;
	return 0;
}

/* CPU seconds (user + system) of process pid so far, or -1 */
static double
process_cpu_s(int pid)
{
	char		path[64];
	char		buf[1024];
	FILE	   *f;
	size_t		n;
	char	   *p;
	unsigned long utime,
				stime;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (double) (utime + stime) / sysconf(_SC_CLK_TCK);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static PGresult *
exec_checked(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "bench-poller: %s", PQerrorMessage(conn));
		exit(1);
	}
	return res;
}

/* Leases one batch, completes it, appends latencies. Returns tasks leased. */
static int
poll_once(PGconn *conn, const struct options *o, char *batch_text, double **lat, long *nlat, long *cap)
{
	const char *params[5] = {o->queue, "bench-poller", batch_text, o->mode, o->activity_queue};
	PGresult   *res;
	int			n;

	if (strcmp(o->kind, "activity") == 0)
	{
		res = exec_checked(conn,
						   "WITH leased AS (SELECT * FROM durable.poll_activity_tasks($1, $2, $3::int)), "
						   "done AS (SELECT count(*) FROM durable.complete_activity_tasks("
						   "  (SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', input)), '[]') FROM leased))) "
						   "SELECT extract(epoch FROM started_at - scheduled_at) * 1000, (SELECT * FROM done) FROM leased",
						   3, params);
	}
	else
	{
		res = exec_checked(conn,
						   /*
							* Latency of the event that caused this task: from the
							* first event after the previous WorkflowTaskCompleted
							* (a signal; for a first task, the start) to this
							* task's WorkflowTaskStarted.
							*/
						   "SELECT extract(epoch FROM (t.history -> -1 ->> 'event_time')::timestamptz - ("
						   "         SELECT min((e ->> 'event_time')::timestamptz) FROM jsonb_array_elements(t.history) e"
						   "          WHERE (e ->> 'event_id')::bigint > coalesce((SELECT max((c ->> 'event_id')::bigint)"
						   "                  FROM jsonb_array_elements(t.history) c"
						   "                 WHERE c ->> 'event_type' = 'WorkflowTaskCompleted'), 0))) * 1000,"
						   "       durable.complete_workflow_task(t.task_token, CASE WHEN $4::text IS NULL THEN '[]'::jsonb"
						   "              ELSE durable_bench.decide(t.history, $4, $5) END) IS NULL"
						   "  FROM durable.poll_workflow_tasks($1, $2, $3::int, '{}') t",
						   5, params);
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
	{
		if (*nlat == *cap)
		{
			*cap = *cap ? *cap * 2 : 4096;
			*lat = realloc(*lat, *cap * sizeof(double));
			if (*lat == NULL)
			{
				fprintf(stderr, "bench-poller: out of memory\n");
				exit(1);
			}
		}
		(*lat)[(*nlat)++] = atof(PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return n;
}

int
main(int argc, char **argv)
{
	struct options o;
	PGconn	   *conn;
	PGresult   *res;
	const char *params[2];
	char		batch_text[16];
	double	   *lat = NULL;
	long		nlat = 0,
				cap = 0,
				tasks = 0;
	double		deadline;
	long		polls = 0,
				short_polls = 0,
				waits = 0;
	double		poll_s = 0,
				wait_s = 0,
				t0;

	if (parse_options(argc, argv, &o) != 0)
	{
		fprintf(stderr, "usage: bench-poller --kind activity|workflow --queue Q [--batch N] [--count N] [--seconds S]\n");
		return 2;
	}
	snprintf(batch_text, sizeof batch_text, "%d", o.batch);
	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "bench-poller: %s", PQerrorMessage(conn));
		return 1;
	}
	params[0] = o.kind;
	params[1] = o.queue;
	res = exec_checked(conn, "SELECT 'LISTEN ' || quote_ident(durable.task_queue_channel($1, $2))", 2, params);
	PQclear(exec_checked(conn, PQgetvalue(res, 0, 0), 0, NULL));
	PQclear(res);
	printf("ready\n");
	fflush(stdout);

	deadline = now_s() + o.seconds;
	while ((o.count == 0 || tasks < o.count) && now_s() < deadline)
	{
		int			got;
		fd_set		fds;
		struct timeval tv = {0, 200000};	/* only to notice the deadline */
		PGnotify   *note;

		/* poll until a poll comes back short: the queue is drained */
		do
		{
			t0 = now_s();
			got = poll_once(conn, &o, batch_text, &lat, &nlat, &cap);
			poll_s += now_s() - t0;
			polls++;
			short_polls += got < o.batch;
			tasks += got;
		} while (got == o.batch && (o.count == 0 || tasks < o.count));
		if (o.count != 0 && tasks >= o.count)
			break;

		/*
		 * A notification may already sit in libpq's queue, read along with
		 * the last poll's result: then the socket stays quiet and select()
		 * would sleep through it. Only wait when the queue is empty.
		 */
		PQconsumeInput(conn);
		if ((note = PQnotifies(conn)) != NULL)
		{
			do
				PQfreemem(note);
			while ((note = PQnotifies(conn)) != NULL);
			continue;
		}
		FD_ZERO(&fds);
		FD_SET(PQsocket(conn), &fds);
		t0 = now_s();
		if (select(PQsocket(conn) + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
		{
			perror("bench-poller: select");
			return 1;
		}
		wait_s += now_s() - t0;
		waits++;
		PQconsumeInput(conn);
		while ((note = PQnotifies(conn)) != NULL)
			PQfreemem(note);
	}

	printf("backend_cpu_s %.2f\n", process_cpu_s(PQbackendPID(conn)));
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("tasks %ld\n", tasks);
	if (nlat > 0)
		printf("p50_ms %.3f\np99_ms %.3f\n", lat[nlat / 2], lat[(long) (nlat * 0.99)]);
	printf("polls %ld\nshort_polls %ld\npoll_ms %.1f\nwaits %ld\nwait_ms %.1f\n",
		   polls, short_polls, poll_s * 1000, waits, wait_s * 1000);
	free(lat);
	PQfinish(conn);
	return 0;
}
