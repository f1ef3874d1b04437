#include "follow.h"
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define MAX_STREAMS 200
#define PING_SECONDS 15
#define SAMPLE_SECONDS 15
#define MAX_BATCH 512

struct stream {
	char run[40];
	unsigned pending;  /* changes not yet told */
	bool hello_sent;
	struct stream *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct stream *streams;
static int nstreams;
static atomic_bool stopping;
static pthread_t thread;
static bool started;

void sse_notify(const char *run_id)
{
	pthread_mutex_lock(&lock);
	for (struct stream *s = streams; s; s = s->next)
		if (!run_id || strcmp(s->run, run_id) == 0)
			s->pending++;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

int sse_count(void)
{
	pthread_mutex_lock(&lock);
	int n = nstreams;
	pthread_mutex_unlock(&lock);
	return n;
}

/* Called by libmicrohttpd on the connection's own thread: blocks until
 * there is something to say (a change, or a keep-alive that also finds a
 * browser that went away). */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	if (max < 128)
		return 0;
	pthread_mutex_lock(&lock);
	if (!s->hello_sent) {
		s->hello_sent = true;
		pthread_mutex_unlock(&lock);
		/* the page reloads on "hello": changes between its load and this
		 * stream's start are not lost */
		return snprintf(buf, max, "retry: 2000\nevent: hello\ndata: %s\n\n", s->run);
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PING_SECONDS;
	while (!s->pending && !atomic_load(&stopping))
		if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT)
			break;
	unsigned n = s->pending;
	s->pending = 0;
	pthread_mutex_unlock(&lock);
	if (atomic_load(&stopping))
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!n)
		return snprintf(buf, max, ": ping\n\n");
	return snprintf(buf, max, "event: history\ndata: %s\n\n", s->run);
}

static void sse_free(void *cls)
{
	struct stream *s = cls;
	pthread_mutex_lock(&lock);
	for (struct stream **p = &streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			nstreams--;
			break;
		}
	pthread_mutex_unlock(&lock);
	free(s);
}

struct MHD_Response *sse_response(const char *run_id)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->run, sizeof s->run, "%s", run_id);
	pthread_mutex_lock(&lock);
	if (nstreams >= MAX_STREAMS) {
		pthread_mutex_unlock(&lock);
		free(s);
		return NULL;
	}
	s->next = streams;
	streams = s;
	nstreams++;
	pthread_mutex_unlock(&lock);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read, s, sse_free);
	if (!r) {
		sse_free(s);
		return NULL;
	}
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return r;
}

static PGconn *connect_and_listen(void)
{
	struct db_err e;
	PGconn *c = db_connect(NULL, NULL, false, &e);
	if (!c) {
		fprintf(stderr, "durable-web: cannot connect to follow history: %s\n", e.message);
		return NULL;
	}
	PGresult *r = PQexec(c, "SELECT durable.watch_history()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "durable-web: durable.watch_history() refused (%s): live pages will not update\n",
			PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
	PQclear(r);
	PQclear(PQexec(c, "LISTEN \"durable.history\""));
	return c;
}

static void *follow_main(void *arg)
{
	(void)arg;
	PGconn *c = NULL;
	int backoff_ms = 100;
	time_t next_sample = 0;
	char *batch[MAX_BATCH];
	int nbatch = 0;
	time_t batch_since = 0;
	while (!atomic_load(&stopping)) {
		if (!c) {
			c = connect_and_listen();
			if (!c) {
				struct timespec t = { backoff_ms / 1000, (backoff_ms % 1000) * 1000000L };
				nanosleep(&t, NULL);
				backoff_ms = backoff_ms < 5000 ? backoff_ms * 2 : 5000;
				continue;
			}
			backoff_ms = 100;
			sse_notify(NULL); /* changes may have been missed while away */
		}
		struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
		/* wake at least every second: batches of runs, samples, stopping */
		int rc = poll(&pfd, 1, 1000);
		if (rc < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(c)) {
			fprintf(stderr, "durable-web: lost the history connection: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL;
			continue;
		}
		PGnotify *n;
		while ((n = PQnotifies(c))) {
			sse_notify(n->extra);
			bool have = false;
			for (int i = 0; i < nbatch && !have; i++)
				have = strcmp(batch[i], n->extra) == 0;
			if (!have && nbatch < MAX_BATCH) {
				if (!nbatch)
					batch_since = time(NULL);
				batch[nbatch++] = strdup(n->extra);
			}
			PQfreemem(n);
		}
		/* latencies are read once a burst of notifications is drained, the
		 * batch is full or a second old, so one query serves many runs */
		if (nbatch && (rc == 0 || nbatch == MAX_BATCH || time(NULL) > batch_since)) {
			metrics_follow_runs(c, batch, nbatch);
			for (int i = 0; i < nbatch; i++)
				free(batch[i]);
			nbatch = 0;
		}
		time_t now = time(NULL);
		if (now >= next_sample) {
			metrics_sample_queues(c);
			next_sample = now + SAMPLE_SECONDS;
		}
	}
	for (int i = 0; i < nbatch; i++)
		free(batch[i]);
	if (c)
		PQfinish(c);
	return NULL;
}

int follow_start(void)
{
	atomic_store(&stopping, false);
	if (pthread_create(&thread, NULL, follow_main, NULL))
		return -1;
	started = true;
	return 0;
}

void follow_stop(void)
{
	atomic_store(&stopping, true);
	pthread_mutex_lock(&lock);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	if (started)
		pthread_join(thread, NULL);
	started = false;
}
