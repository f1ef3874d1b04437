/*
 * Change detection for status and history. A thread holds its own
 * connection, LISTENs, and on each notification rechecks the watched runs
 * (one describe each); a change bumps the watch's generation, invalidates
 * the workflow's inodes and wakes poll(2) waiters.
 *
 * The store notifies "durable.history" with the run id whenever a run's
 * history changes, for sessions that called durable.watch_history(); only
 * watches whose run that is are rechecked. A brand-new run of a watched id
 * (a new start after the last run closed) is not a change of the old run,
 * so we also listen on the workflow channel of the watched task queues
 * (fired when a workflow task is scheduled, as for every new run) and then
 * recheck all watches. Against an older store without watch_history we fall
 * back to those hints plus a recheck every RECHECK_MS while anything is
 * watched; with nothing watched the thread sleeps until woken.
 */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECHECK_MS 2000
#define MAX_CHANNELS 256

struct watch {
	char *wf, *run, *queue;
	char state[160];	/* status and history length at the last check */
	uint64_t gen;
	struct fuse_pollhandle *ph;
	int refs;		/* the file handle, and the thread while checking */
	bool kicked;
	struct watch *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static int wake_pipe[2] = { -1, -1 };
static pthread_t thread;
static bool running;
static bool history_notify; /* the store has durable.watch_history() */
static atomic_bool stopping;

static void wake(void)
{
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
		/* full pipe: the thread is awake already */
	}
}

static void release(struct watch *w)
{
	/* lock held */
	if (--w->refs > 0)
		return;
	if (w->ph)
		fuse_pollhandle_destroy(w->ph);
	free(w->wf);
	free(w->run);
	free(w->queue);
	free(w);
}

/* Current state of the run, "STATUS LENGTH", and its task queue. */
static int read_state(const char *wf, const char *run, char *state, size_t n, char **queue)
{
	struct db_err e;
	const char *p[] = { wf, run, conf.ns };
	PGresult *r;
	int rc = db_query(&r, &e, true, &sql_run_state, p);
	if (rc) {
		/* gone or unreachable: a state of its own, so the change shows */
		snprintf(state, n, "error %d", rc);
		return rc;
	}
	snprintf(state, n, "%s", db_col(r, 0, "state"));
	if (queue && !*queue)
		*queue = strdup(db_col(r, 0, "task_queue"));
	PQclear(r);
	return 0;
}

struct watch *watch_open(const char *wf, const char *run)
{
	struct watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->wf = strdup(wf);
	w->run = xstrdup(run);
	w->refs = 1;
	read_state(wf, run, w->state, sizeof w->state, &w->queue);
	pthread_mutex_lock(&lock);
	w->next = watches;
	watches = w;
	pthread_mutex_unlock(&lock);
	wake(); /* the thread may need to LISTEN on a new channel */
	return w;
}

void watch_close(struct watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&lock);
	for (struct watch **p = &watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	release(w);
	pthread_mutex_unlock(&lock);
}

uint64_t watch_gen(struct watch *w)
{
	pthread_mutex_lock(&lock);
	uint64_t g = w->gen;
	pthread_mutex_unlock(&lock);
	return g;
}

bool watch_poll(struct watch *w, uint64_t seen, struct fuse_pollhandle *ph)
{
	pthread_mutex_lock(&lock);
	bool changed = w->gen > seen;
	if (!changed && ph) {
		/* one notification serves every earlier poll: keep the newest */
		if (w->ph)
			fuse_pollhandle_destroy(w->ph);
		w->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	return changed;
}

void watch_kick(const char *wf)
{
	pthread_mutex_lock(&lock);
	for (struct watch *w = watches; w; w = w->next)
		if (strcmp(w->wf, wf) == 0)
			w->kicked = true;
	pthread_mutex_unlock(&lock);
	wake();
}

static void inval(fuse_ino_t ino, void *arg)
{
	(void)arg;
	int rc = fuse_lowlevel_notify_inval_inode(conf.se, ino, 0, 0);
	/* the kernel may have just forgotten it, or we are unmounting */
	if (rc && rc != -ENOENT && rc != -EBADF && rc != -ENODEV)
		logmsg("invalidating inode %lu: %s", (unsigned long)ino, strerror(-rc));
}

/* Rechecks the watches: all, only kicked ones, or those of one run. */
static void recheck(bool only_kicked, const char *run_id)
{
	struct watch *todo[512];
	int n = 0;
	pthread_mutex_lock(&lock);
	for (struct watch *w = watches; w && n < 512; w = w->next) {
		if (only_kicked && !w->kicked)
			continue;
		if (run_id && !strstr(w->state, run_id))
			continue;
		w->kicked = false;
		w->refs++;
		todo[n++] = w;
	}
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n; i++) {
		struct watch *w = todo[i];
		char state[160];
		read_state(w->wf, w->run, state, sizeof state, NULL);
		struct fuse_pollhandle *ph = NULL;
		bool changed;
		pthread_mutex_lock(&lock);
		changed = strcmp(state, w->state) != 0;
		if (changed) {
			snprintf(w->state, sizeof w->state, "%s", state);
			w->gen++;
			ph = w->ph;
			w->ph = NULL;
		}
		char *wf = strdup(w->wf);
		release(w);
		pthread_mutex_unlock(&lock);
		if (changed && wf) {
			nodes_each(K_HISTORY, wf, inval, NULL);
			nodes_each(K_FIELD, wf, inval, NULL);
		}
		if (ph) {
			fuse_lowlevel_notify_poll(ph);
			fuse_pollhandle_destroy(ph);
		}
		free(wf);
	}
}

/* LISTENs on every channel the watched queues need; returns -1 if c died. */
static int listen_all(PGconn *c, char (*listening)[64], int *n_listening)
{
	char *queues[MAX_CHANNELS / 2];
	int nq = 0;
	pthread_mutex_lock(&lock);
	for (struct watch *w = watches; w && nq < MAX_CHANNELS / 2; w = w->next)
		if (w->queue)
			queues[nq++] = strdup(w->queue);
	pthread_mutex_unlock(&lock);
	int rc = 0;
	for (int i = 0; i < nq; i++) {
		for (int k = 0; k < 1 + !history_notify && rc == 0; k++) {
			const char *p[] = { k ? "activity" : "workflow", queues[i], conf.ns };
			PGresult *r = PQexecParams(c, sql_task_queue_channel.text, sql_task_queue_channel.nparams,
						   NULL, p, NULL, NULL, 0);
			struct db_err ignored;
			if (PQresultStatus(r) != PGRES_TUPLES_OK ||
			    db_check_columns(r, &sql_task_queue_channel, &ignored)) {
				PQclear(r);
				rc = PQstatus(c) == CONNECTION_OK ? 0 : -1;
				continue;
			}
			char chan[64];
			snprintf(chan, sizeof chan, "%s", db_col(r, 0, "channel"));
			PQclear(r);
			bool have = false;
			for (int j = 0; j < *n_listening; j++)
				have = have || strcmp(listening[j], chan) == 0;
			if (have || *n_listening == MAX_CHANNELS)
				continue;
			char *ident = PQescapeIdentifier(c, chan, strlen(chan));
			if (!ident) {
				rc = PQstatus(c) == CONNECTION_OK ? 0 : -1;
				continue;
			}
			char sql[128];
			snprintf(sql, sizeof sql, "LISTEN %s", ident);
			PQfreemem(ident);
			r = PQexec(c, sql);
			if (PQresultStatus(r) == PGRES_COMMAND_OK)
				snprintf(listening[(*n_listening)++], 64, "%s", chan);
			else if (PQstatus(c) != CONNECTION_OK)
				rc = -1;
			PQclear(r);
		}
		free(queues[i]);
	}
	return rc;
}

static bool have_watches(void)
{
	pthread_mutex_lock(&lock);
	bool any = watches != NULL;
	pthread_mutex_unlock(&lock);
	return any;
}

static void *watch_main(void *arg)
{
	(void)arg;
	static char listening[MAX_CHANNELS][64];
	PGconn *c = NULL;
	int n_listening = 0, backoff_ms = 100;
	while (!stopping) {
		if (!c) {
			struct db_err e;
			c = db_connect(&e);
			n_listening = 0;
			if (c) {
				PGresult *r = PQexec(c, sql_watch_history.text);
				history_notify = PQresultStatus(r) == PGRES_TUPLES_OK;
				PQclear(r);
				if (!history_notify)
					logmsg("the store has no durable.watch_history(); rechecking every %d ms",
					       RECHECK_MS);
				PQclear(PQexec(c, sql_listen_history.text));
				backoff_ms = 100;
				recheck(false, NULL); /* we may have missed notifications */
			}
		}
		if (c && listen_all(c, listening, &n_listening) < 0) {
			PQfinish(c);
			c = NULL;
			continue;
		}
		int timeout = !c ? backoff_ms : !history_notify && have_watches() ? RECHECK_MS : -1;
		if (!c && backoff_ms < 5000)
			backoff_ms *= 2;
		struct pollfd p[2] = { { .fd = wake_pipe[0], .events = POLLIN },
				       { .fd = c ? PQsocket(c) : -1, .events = POLLIN } };
		int n = poll(p, 2, timeout);
		if (stopping)
			break;
		bool kicked = false, notified = false;
		char run_ids[8][40];
		int n_runs = 0;
		if (p[0].revents) {
			char drain[64];
			while (read(wake_pipe[0], drain, sizeof drain) > 0)
				;
			kicked = true;
		}
		if (c && p[1].revents) {
			if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
				logmsg("notification connection lost; reconnecting");
				PQfinish(c);
				c = NULL;
				continue;
			}
			PGnotify *nt;
			while ((nt = PQnotifies(c)) != NULL) {
				/* a run's history grew: recheck that run, unless too many did */
				if (strcmp(nt->relname, "durable.history") == 0 && n_runs < 8)
					snprintf(run_ids[n_runs++], 40, "%s", nt->extra);
				else
					notified = true;
				PQfreemem(nt);
			}
		}
		if (notified || (n == 0 && c)) {
			recheck(false, NULL);
		} else {
			for (int i = 0; i < n_runs; i++)
				recheck(false, run_ids[i]);
			if (kicked)
				recheck(true, NULL);
		}
	}
	PQfinish(c);
	return NULL;
}

int watch_start(void)
{
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	int rc = pthread_create(&thread, NULL, watch_main, NULL);
	if (rc)
		return -rc;
	running = true;
	return 0;
}

void watch_stop(void)
{
	if (!running)
		return;
	stopping = true;
	wake();
	pthread_join(thread, NULL);
	running = false;
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	pthread_mutex_lock(&lock);
	while (watches) {
		struct watch *w = watches;
		watches = w->next;
		release(w);
	}
	pthread_mutex_unlock(&lock);
}
