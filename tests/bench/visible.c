/*
 * visible.c: when the workflow tasks of fired timers become visible to a
 * poller, seen from the client side (make bench's timer phase).
 *
 * A TimerFired event carries the time its transaction wrote it; a worker can
 * only lease the workflow task that goes with it once that transaction has
 * committed (WAL flushed, snapshot updated). This client LISTENs on the task
 * queue's channel, as a worker does, and on every notification (one per
 * firing commit) counts the queue's workflow tasks. Each line it prints is
 * "<statement_timestamp as epoch seconds> <tasks visible>": the count's
 * snapshot was taken just after that time, so a task counted there was
 * visible by then, give or take the notification's delivery (which only makes
 * the figure later, never earlier). It stops once --count tasks are visible
 * or after --seconds.
 *
 *   bench-visible --queue Q --count N [--seconds S] [--namespace NS]
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static PGresult *
run(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "bench-visible: %s", PQerrorMessage(conn));
		exit(1);
	}
	return res;
}

/* Prints one sample; returns the count. */
static long
sample(PGconn *conn, const char *queue, const char *namespace)
{
	const char *params[2] = {queue, namespace};
	PGresult   *res = run(conn,
						  "SELECT extract(epoch FROM statement_timestamp()), count(*)"
						  "  FROM durable.workflow_tasks WHERE task_queue = $1 AND namespace = $2",
						  2, params);
	long		n = atol(PQgetvalue(res, 0, 1));

	printf("%s %ld\n", PQgetvalue(res, 0, 0), n);
	fflush(stdout);
	PQclear(res);
	return n;
}

int
main(int argc, char **argv)
{
	const char *queue = NULL;
	const char *namespace = "default";
	long		count = 0;
	double		seconds = 120;
	PGconn	   *conn;
	PGresult   *res;
	char	   *listen;
	double		deadline;

	for (int i = 1; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--queue") == 0)
			queue = argv[i + 1];
		else if (strcmp(argv[i], "--namespace") == 0)
			namespace = argv[i + 1];
		else if (strcmp(argv[i], "--count") == 0)
			count = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else
		{
			fprintf(stderr, "bench-visible: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (queue == NULL || count <= 0)
	{
		fprintf(stderr, "usage: bench-visible --queue Q --count N [--seconds S] [--namespace NS]\n");
		return 2;
	}

	conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "bench-visible: %s", PQerrorMessage(conn));
		return 1;
	}
	{
		const char *params[2] = {queue, namespace};

		res = run(conn, "SELECT 'LISTEN ' || quote_ident(durable.task_queue_channel('workflow', $1, $2))",
				  2, params);
		listen = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	PQclear(run(conn, listen, 0, NULL));
	free(listen);

	deadline = now_s() + seconds;
	if (sample(conn, queue, namespace) >= count)
		goto done;
	for (;;)
	{
		int			sock = PQsocket(conn);
		fd_set		fds;
		struct timeval tv;
		double		left = deadline - now_s();
		PGnotify   *note;
		int			got = 0;

		/* one that came in while the last sample ran is already read */
		while ((note = PQnotifies(conn)) != NULL)
		{
			PQfreemem(note);
			got = 1;
		}
		if (got)
		{
			if (sample(conn, queue, namespace) >= count)
				break;
			continue;
		}
		if (left <= 0)
		{
			fprintf(stderr, "bench-visible: fewer than %ld tasks visible after %.0f s\n", count, seconds);
			PQfinish(conn);
			return 1;
		}
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		tv.tv_sec = (long) left;
		tv.tv_usec = (long) ((left - (long) left) * 1e6);
		if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
		{
			perror("bench-visible: select");
			return 1;
		}
		if (!PQconsumeInput(conn))
		{
			fprintf(stderr, "bench-visible: %s", PQerrorMessage(conn));
			return 1;
		}
		while ((note = PQnotifies(conn)) != NULL)
		{
			PQfreemem(note);
			got = 1;
		}
		if (got && sample(conn, queue, namespace) >= count)
			break;
	}
done:
	PQfinish(conn);
	return 0;
}
