/*
 * What one open file gathers from its writes before anything is applied.
 * Writers split a document anywhere (bash writes `echo '{...}'` one line per
 * write(2), the kernel cuts big writes at max_write), so no single write is
 * a message:
 *   - JSON files (start, signals, tasks, queries) gather bytes until the
 *     document is complete (jscan), then apply it once; a document that can
 *     never become valid is refused at the write that shows it, one that is
 *     unfinished at close() is refused there. One document per open, except
 *     queries, where each document asks again with new arguments.
 *   - ctl files (and the one-value limit files of task queues) apply what was
 *     written whenever it ends with a newline, all of it in one transaction
 *     (so no write(2) is ever split in two); an unfinished last line is
 *     applied, with what came before it, at close().
 * Nothing is held beyond the store's payload limit (EFBIG at the write that
 * passes it), and all open files together hold at most a fixed budget.
 */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_PAYLOAD_LIMIT (2 * 1024 * 1024)
/* a start spec wraps its input in a few fields; the store checks the input itself */
#define ENVELOPE 65536
#define CTL_LIMIT 65536
/* every open file together: this many documents of the largest size */
#define BUDGET_DOCUMENTS 16

static atomic_size_t held;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t payload_limit;
static time_t limit_read_at;

/* durable.max_payload_bytes as the server has it, re-read every minute. */
size_t doc_payload_limit(void)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&limit_lock);
	if (payload_limit == 0 || now - limit_read_at >= 60) {
		PGresult *r;
		struct db_err e;
		if (db_query(&r, &e, true, &sql_payload_limit, NULL) == 0) {
			long long v = db_null(r, 0, "bytes") ? 0 : strtoll(db_col(r, 0, "bytes"), NULL, 10);
			payload_limit = v > 0 ? (size_t)v : DEFAULT_PAYLOAD_LIMIT;
			limit_read_at = now;
			PQclear(r);
		} else if (payload_limit == 0) {
			payload_limit = DEFAULT_PAYLOAD_LIMIT; /* try again at the next write */
		}
	}
	size_t v = payload_limit;
	pthread_mutex_unlock(&limit_lock);
	return v;
}

size_t doc_held_bytes(void)
{
	return atomic_load(&held);
}

static void release(struct docbuf *d)
{
	atomic_fetch_sub(&held, d->text.len);
	bool big = d->text.cap > 256 * 1024;
	buf_free(&d->text);
	/* glibc keeps freed big blocks for reuse; give them back */
	if (big)
		malloc_trim(0);
}

static int refuse(struct docbuf *d, struct db_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct docbuf *d, struct db_err *e, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	release(d);
	d->refused = err;
	return -err;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int hold(struct docbuf *d, const char *data, size_t size, size_t limit, struct db_err *e)
{
	if (d->text.len + size > limit)
		return refuse(d, e, EFBIG,
			      "larger than %zu bytes (%s): refused at byte %zu, nothing held or applied",
			      limit, limit == CTL_LIMIT ? "the limit of a ctl line"
			      : "durable.max_payload_bytes plus 64 kB for the start spec around it",
			      d->text.len + size);
	size_t budget = BUDGET_DOCUMENTS * (doc_payload_limit() + ENVELOPE);
	if (atomic_fetch_add(&held, size) + size > budget) {
		atomic_fetch_sub(&held, size);
		snprintf(e->msg, sizeof e->msg,
			 "the mount already holds %zu bytes of unfinished documents (at most %zu): try again",
			 atomic_load(&held), budget);
		return -ENOMEM;
	}
	int rc = buf_append(&d->text, data, size);
	if (rc)
		atomic_fetch_sub(&held, size);
	return rc;
}

/* Applies the gathered document and lets go of it. */
static int apply(const struct node *n, struct docbuf *d, struct buf *reply, struct db_err *e)
{
	buf_reset(reply);
	int rc = write_apply(n, d->text.data ? d->text.data : "", d->text.len, reply, e);
	release(d);
	if (n->kind == K_QUERY || n->kind == K_UPDATE) {
		jscan_init(&d->scan); /* the next document asks again */
	} else {
		d->applied = true;
		if (rc)
			d->refused = -rc;
	}
	return rc;
}

static int ctl_write(const struct node *n, struct docbuf *d, const char *data, size_t size,
		     struct buf *reply, struct db_err *e)
{
	int rc = hold(d, data, size, CTL_LIMIT, e);
	if (rc) {
		d->refused = 0; /* the next line starts afresh */
		return rc;
	}
	if (d->text.len == 0 || d->text.data[d->text.len - 1] != '\n')
		return 0; /* a line still being written: hold all of it, so one write stays one transaction */
	buf_reset(reply);
	rc = write_apply(n, d->text.data, d->text.len, reply, e);
	release(d);
	return rc;
}

int doc_write(const struct node *n, struct docbuf *d, const char *data, size_t size,
	      bool *applying, struct buf *reply, struct db_err *e)
{
	*applying = false;
	if (d->refused) {
		snprintf(e->msg, sizeof e->msg, "this open file's document was refused already (%s)",
			 strerror(d->refused));
		return -d->refused;
	}
	if (kind_info(n->kind)->lines)
		return *applying = true, ctl_write(n, d, data, size, reply, e);
	if (d->applied) {
		if (blank(data, size))
			return 0;
		return refuse(d, e, EINVAL,
			      "one document per open: text after the document that was applied");
	}
	if (!d->started) {
		jscan_init(&d->scan);
		d->started = true;
	}
	int rc = hold(d, data, size, doc_payload_limit() + ENVELOPE, e);
	if (rc)
		return rc;
	enum jscan_result r = jscan_feed(&d->scan, data, size);
	if (r == JSCAN_BAD)
		return refuse(d, e, EINVAL, "%s", d->scan.err);
	if (r == JSCAN_MORE)
		return 0;
	*applying = true;
	return apply(n, d, reply, e);
}

int doc_close(const struct node *n, struct docbuf *d, bool *applying, struct buf *reply,
	      struct db_err *e)
{
	*applying = false;
	if (d->refused || d->text.len == 0)
		return 0; /* refused at a write already, or nothing left to apply */
	*applying = true;
	if (kind_info(n->kind)->lines) {
		buf_reset(reply);
		int rc = write_apply(n, d->text.data, d->text.len, reply, e);
		release(d);
		return rc;
	}
	enum jscan_result r = jscan_end(&d->scan);
	if (r == JSCAN_BAD)
		return refuse(d, e, EINVAL, "%s (the whole document, at close)", d->scan.err);
	return apply(n, d, reply, e); /* complete, or only whitespace (a NULL payload) */
}

void doc_free(struct docbuf *d)
{
	release(d);
}
