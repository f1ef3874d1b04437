/*
 * history: one JSON event per line, each tagged with its run. The file of
 * workflows/<id>/ is the whole continue-as-new chain of the latest run,
 * oldest run first (durable.history_chain): when a run continues as new, its
 * last events and the new run's follow in the same file, which only grows,
 * so `tail -f` shows every event of the chain in order. runs/<run>/history
 * is that run alone. History is append-only, so a line once rendered never
 * changes and its byte offset is stable; we remember where each line starts
 * per run and fetch only new events. That makes st_size truthful and cheap,
 * which is what `tail -f` (polling st_size on FUSE) depends on.
 */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 4096
#define MAX_CHAIN 1000 /* durable.history_chain returns at most this many runs */

struct run_index {
	char run_id[40];
	int64_t n_events;	/* events 1..n_events are indexed */
	uint64_t *start;	/* start[i]: offset of event i+1; start[n_events]: size */
	size_t cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct run_index *runs[MAX_RUNS];
static int n_runs;

/* Drops every run's index; the lock is held. */
static void history_forget_all(void)
{
	for (int i = 0; i < n_runs; i++) {
		free(runs[i]->start);
		free(runs[i]);
	}
	n_runs = 0;
}

static struct run_index *find_run(const char *run_id)
{
	for (int i = 0; i < n_runs; i++)
		if (strcmp(runs[i]->run_id, run_id) == 0)
			return runs[i];
	if (n_runs == MAX_RUNS) /* crude but bounded: start over */
		history_forget_all();
	struct run_index *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	strncpy(r->run_id, run_id, sizeof r->run_id - 1);
	r->start = calloc(64, sizeof *r->start);
	r->cap = 64;
	if (!r->start) {
		free(r);
		return NULL;
	}
	runs[n_runs++] = r;
	return r;
}

void history_shutdown(void)
{
	pthread_mutex_lock(&lock);
	history_forget_all();
	pthread_mutex_unlock(&lock);
}

/* Resolves the run and its current length with one describe. */
static int current_run(const char *wf, const char *run, char run_id[40], int64_t *len,
		       struct db_err *e)
{
	const char *p[] = { wf, run, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_run_length, p);
	if (rc)
		return rc;
	if (PQntuples(r) != 1 || db_null(r, 0, "run_id")) {
		PQclear(r);
		return -ENOENT;
	}
	snprintf(run_id, 40, "%s", db_col(r, 0, "run_id"));
	*len = strtoll(db_col(r, 0, "history_length"), NULL, 10);
	PQclear(r);
	return 0;
}

/* Indexes events up to len; the lock is held. */
static int index_events(const char *wf, struct run_index *ri, int64_t len, struct db_err *e)
{
	while (ri->n_events < len) {
		char after[24], max[24];
		snprintf(after, sizeof after, "%lld", (long long)ri->n_events);
		snprintf(max, sizeof max, "%d", 5000);
		const char *p[] = { wf, ri->run_id, after, max, conf.ns };
		PGresult *r;
		int rc = db_query(&r, e, true, &sql_history_events, p);
		if (rc)
			return rc;
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			if ((size_t)ri->n_events + 2 > ri->cap) {
				uint64_t *s = realloc(ri->start, ri->cap * 2 * sizeof *s);
				if (!s) {
					PQclear(r);
					return -ENOMEM;
				}
				ri->start = s;
				ri->cap *= 2;
			}
			uint64_t line = (uint64_t)db_len(r, i, "line") + 1;
			ri->start[ri->n_events + 1] = ri->start[ri->n_events] + line;
			ri->n_events++;
		}
		PQclear(r);
		if (n == 0)
			break; /* the run's length raced ahead of what we may read */
	}
	return 0;
}

struct chain_run {
	char run_id[40];
	int64_t len;
};

/*
 * The runs of the file, oldest first: the run of runs/<run>/, or the chain
 * of the latest run. A role without durable.history_chain (or an older
 * store) sees the latest run alone, as before.
 */
static int load_chain(const char *wf, const char *run, struct chain_run **out, int *n,
		      struct db_err *e)
{
	*n = 0;
	*out = NULL;
	int rc = -ENOSYS;
	if (!run) {
		const char *p[] = { wf, conf.ns };
		PGresult *r;
		rc = db_query(&r, e, true, &sql_history_chain, p);
		if (rc == 0) {
			/* sized by the answer: this runs on every stat and read of history */
			int rows = PQntuples(r) < MAX_CHAIN ? PQntuples(r) : MAX_CHAIN;
			*out = calloc(rows > 0 ? rows : 1, sizeof **out);
			if (!*out) {
				PQclear(r);
				return -ENOMEM;
			}
			for (int i = 0; i < rows; i++) {
				snprintf((*out)[i].run_id, 40, "%s", db_col(r, i, "run_id"));
				(*out)[i].len = strtoll(db_col(r, i, "history_length"), NULL, 10);
				(*n)++;
			}
			PQclear(r);
			if (*n == 0)
				rc = -ENOENT;
		}
	}
	if (rc == -ENOSYS || rc == -EACCES) {
		if (!*out && !(*out = calloc(1, sizeof **out)))
			return -ENOMEM;
		rc = current_run(wf, run, (*out)[0].run_id, &(*out)[0].len, e);
		*n = rc == 0 ? 1 : 0;
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Brings the index of every run of the file up to date; *size is the file's. */
static int refresh(const char *wf, const char *run, struct chain_run **chain, int *n,
		   uint64_t *size, struct db_err *e)
{
	int rc = load_chain(wf, run, chain, n, e);
	if (rc)
		return rc;
	*size = 0;
	pthread_mutex_lock(&lock);
	if (n_runs + *n > MAX_RUNS) /* never start over in the middle of a chain */
		history_forget_all();
	for (int i = 0; rc == 0 && i < *n; i++) {
		struct run_index *ri = find_run((*chain)[i].run_id);
		rc = ri ? index_events(wf, ri, (*chain)[i].len, e) : -ENOMEM;
		if (rc == 0)
			*size += ri->start[ri->n_events];
	}
	pthread_mutex_unlock(&lock);
	if (rc) {
		free(*chain);
		*chain = NULL;
	}
	return rc;
}

int history_stat(const struct node *n, struct stat *st, struct db_err *e)
{
	struct chain_run *chain;
	int count;
	uint64_t size;
	int rc = refresh(n->wf, n->run, &chain, &count, &size, e);
	if (rc == 0)
		st->st_size = (off_t)size;
	free(chain);
	return rc;
}

/* Appends up to size bytes of one run's lines from offset off within the run. */
static int read_run(const char *wf, const char *run_id, uint64_t off, size_t size,
		    struct buf *out, struct db_err *e)
{
	int64_t first, last;
	uint64_t first_start;
	pthread_mutex_lock(&lock);
	struct run_index *ri = find_run(run_id);
	if (!ri || ri->n_events == 0 || off >= ri->start[ri->n_events]) {
		pthread_mutex_unlock(&lock);
		return ri ? 0 : -ENOMEM;
	}
	int64_t lo = 0, hi = ri->n_events - 1;
	while (lo < hi) { /* last event whose start <= off */
		int64_t mid = (lo + hi + 1) / 2;
		if (ri->start[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	first = lo;
	first_start = ri->start[first];
	for (last = first; last + 1 < ri->n_events && ri->start[last + 1] < off + size; last++)
		;
	pthread_mutex_unlock(&lock);

	char after[24], max[24];
	snprintf(after, sizeof after, "%lld", (long long)first);
	snprintf(max, sizeof max, "%lld", (long long)(last - first + 1));
	const char *p[] = { wf, run_id, after, max, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_history_events, p);
	if (rc)
		return rc;
	struct buf lines = { 0 };
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		rc = buf_append(&lines, db_col(r, i, "line"), (size_t)db_len(r, i, "line"));
		if (rc == 0)
			rc = buf_append(&lines, "\n", 1);
	}
	PQclear(r);
	size_t skip = (size_t)(off - first_start);
	if (rc == 0 && skip < lines.len) {
		size_t n = lines.len - skip < size ? lines.len - skip : size;
		rc = buf_append(out, lines.data + skip, n);
	}
	buf_free(&lines);
	return rc;
}

int history_read(const char *wf, const char *run, off_t off, size_t size, struct buf *out,
		 struct db_err *e)
{
	struct chain_run *chain;
	int count;
	uint64_t total;
	int rc = refresh(wf, run, &chain, &count, &total, e);
	if (rc)
		return rc;
	/* the runs in file order: each run's lines start where the one before ended */
	uint64_t base = 0, pos = (uint64_t)off;
	for (int i = 0; rc == 0 && i < count && out->len < size && pos < total; i++) {
		pthread_mutex_lock(&lock);
		struct run_index *ri = find_run(chain[i].run_id);
		uint64_t run_size = ri ? ri->start[ri->n_events] : 0;
		pthread_mutex_unlock(&lock);
		if (pos < base + run_size) {
			size_t before = out->len;
			rc = read_run(wf, chain[i].run_id, pos - base, size - out->len, out, e);
			pos += out->len - before;
		}
		base += run_size;
	}
	free(chain);
	return rc;
}
