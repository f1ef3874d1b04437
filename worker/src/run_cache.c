/* The run cache: the runs whose workflow function waits for their next
 * task (run.c), by run id, at most opts.run_cache of them. The least
 * recently used goes first; evicting one unwinds its function. Kept only
 * in this process: after a restart, or when another worker ran a task of
 * the run meanwhile, the task replays. */
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

/* The list is in the order of use: a task takes its run out and puts it
 * back at the head, so the least recently used is the last. */
struct durable__kept {
	char *run_id;
	durable__run_t *run;
	struct durable__kept *next;
};

static struct durable__kept **find(durable_worker_t *w, const char *run_id)
{
	struct durable__kept **k = &w->runs;
	while (*k && strcmp((*k)->run_id, run_id) != 0)
		k = &(*k)->next;
	return k;
}

/* Unlinks *k and hands over its run. */
static durable__run_t *unlink_run(durable_worker_t *w, struct durable__kept **k)
{
	struct durable__kept *e = *k;
	durable__run_t *run = e->run;
	*k = e->next;
	free(e->run_id);
	free(e);
	w->nruns--;
	return run;
}

durable__run_t *durable__runs_take(durable_worker_t *w, const char *run_id)
{
	struct durable__kept **k = find(w, run_id);
	return *k ? unlink_run(w, k) : NULL;
}

void durable__runs_drop(durable_worker_t *w, const char *run_id)
{
	durable__run_free(durable__runs_take(w, run_id));
}

static void evict_oldest(durable_worker_t *w, int counted)
{
	if (!w->runs)
		return;
	struct durable__kept **oldest = &w->runs;
	while ((*oldest)->next)
		oldest = &(*oldest)->next;
	w->runs_evicted += (uint64_t)counted;
	durable__log("DEBUG", "run %s: evicted from the run cache", (*oldest)->run_id);
	durable__run_free(unlink_run(w, oldest));
}

void durable__runs_put(durable_worker_t *w, const char *run_id, durable__run_t *run)
{
	durable__runs_drop(w, run_id);
	struct durable__kept *e = calloc(1, sizeof(*e));
	if (!e || !(e->run_id = strdup(run_id))) {
		free(e);
		durable__run_free(run);
		return;
	}
	e->run = run;
	e->next = w->runs;
	w->runs = e;
	w->nruns++;
	while (w->nruns > w->opts.run_cache)
		evict_oldest(w, 1);
}

void durable__runs_clear(durable_worker_t *w)
{
	while (w->runs)
		evict_oldest(w, 0);
}
