/*
 * task-queues/<name>/next: a read leases one activity task. It blocks on
 * LISTEN for the queue's channel (no sleeping poll loop) and can be
 * interrupted (Ctrl-C reaches us as a FUSE interrupt, which wakes a pipe).
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_interrupt(fuse_req_t req, void *data)
{
	(void)req;
	int fd = *(int *)data;
	if (write(fd, "x", 1) < 0) {
		/* the pipe is full: the reader is being woken anyway */
	}
}

/* One lease attempt; 1 if a task was leased into out. */
static int try_lease(PGconn *c, const char *queue, struct buf *out, struct db_err *e)
{
	const char *p[] = { queue, callers_identity(), conf.ns };
	PGresult *r;
	int rc = db_exec(c, &r, e, &sql_lease_activity_task, p);
	if (rc)
		return rc;
	if (PQntuples(r) == 1) {
		rc = buf_printf(out, "%s\n", db_col(r, 0, "task"));
		if (rc == 0)
			rc = 1;
	}
	PQclear(r);
	return rc;
}

static int listen_queue(PGconn *c, const char *queue, bool on, struct db_err *e)
{
	const char *p[] = { queue, conf.ns };
	PGresult *r;
	int rc = db_exec(c, &r, e, on ? &sql_listen_activity_channel : &sql_unlisten_all, p);
	if (rc || !on) {
		PQclear(r);
		return rc;
	}
	/* LISTEN takes an identifier, not a parameter: quote it ourselves */
	char *ident = PQescapeIdentifier(c, db_col(r, 0, "channel"), (size_t)db_len(r, 0, "channel"));
	PQclear(r);
	if (!ident)
		return -ENOMEM;
	char sql[256];
	snprintf(sql, sizeof sql, "LISTEN %s", ident);
	PQfreemem(ident);
	const struct sql_call listen = { "listen to the queue's channel", sql, 0, NULL };
	rc = db_exec(c, &r, e, &listen, NULL);
	PQclear(r);
	return rc;
}

/* Waits for a notification, an interrupt, or a dead connection. */
static int wait_notify(PGconn *c, int intr_fd, struct db_err *e)
{
	for (;;) {
		PGnotify *n;
		bool got = false;
		while ((n = PQnotifies(c)) != NULL) {
			got = true;
			PQfreemem(n);
		}
		if (got)
			return 0;
		struct pollfd p[2] = { { .fd = PQsocket(c), .events = POLLIN },
				       { .fd = intr_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -EIO;
		if (p[1].revents)
			return -EINTR;
		if (p[0].revents && (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)) {
			snprintf(e->msg, sizeof e->msg, "lost the database connection while waiting");
			return -EIO;
		}
	}
}

int lease_next(fuse_req_t req, const char *queue, bool nonblock, struct buf *out,
	       struct db_err *e)
{
	PGconn *c;
	int rc = db_get_conn(&c, e);
	if (rc)
		return rc;
	if (!nonblock)
		rc = listen_queue(c, queue, true, e);
	/* poll after LISTEN, so a task that arrives in between is not missed */
	if (rc == 0)
		rc = try_lease(c, queue, out, e);
	if (rc == 0 && nonblock) {
		snprintf(e->msg, sizeof e->msg, "no activity task ready on %s", queue);
		rc = -EAGAIN;
	}
	if (rc == 0) {
		int pipefd[2];
		if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
			rc = -errno;
		} else {
			fuse_req_interrupt_func(req, on_interrupt, &pipefd[1]);
			while (rc == 0 && (rc = wait_notify(c, pipefd[0], e)) == 0)
				rc = try_lease(c, queue, out, e);
			fuse_req_interrupt_func(req, NULL, NULL);
			close(pipefd[0]);
			close(pipefd[1]);
		}
	}
	if (!nonblock && PQstatus(c) == CONNECTION_OK) {
		struct db_err ignored;
		listen_queue(c, queue, false, &ignored);
	}
	db_put(c);
	return rc == 1 ? 0 : rc;
}
