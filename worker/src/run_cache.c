/* The run cache: the runs whose workflow function waits for their next
 * task (run.c), by run id, at most opts.run_cache of them. The least
 * recently used goes first; evicting one unwinds its function. Kept only
 * in this process: after a restart, or when another worker ran a task of
 * the run meanwhile, the task replays. */
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

struct durable__kept {
	char *run_id;
	durable__run_t *run;
	uint64_t used;
	struct durable__kept *next;
};

static struct durable__kept **find(durable_worker_t *w, const char *run_id)
{
	struct durable__kept **k = &w->runs;
	while (*k && strcmp((*k)->run_id, run_id) != 0)
		k = &(*k)->next;
	return k;
}

durable__run_t *durable__runs_take(durable_worker_t *w, const char *run_id)
{
	struct durable__kept **k = find(w, run_id), *e = *k;
	if (!e)
		return NULL;
	durable__run_t *run = e->run;
	*k = e->next;
	free(e->run_id);
	free(e);
	w->nruns--;
	return run;
}

void durable__runs_drop(durable_worker_t *w, const char *run_id)
{
	durable__run_free(durable__runs_take(w, run_id));
}

static void evict_oldest(durable_worker_t *w, int counted)
{
	struct durable__kept **oldest = NULL;
	for (struct durable__kept **k = &w->runs; *k; k = &(*k)->next)
		if (!oldest || (*k)->used < (*oldest)->used)
			oldest = k;
	if (!oldest)
		return;
	struct durable__kept *e = *oldest;
	*oldest = e->next;
	w->nruns--;
	w->runs_evicted += (uint64_t)counted;
	durable__log("DEBUG", "run %s: evicted from the run cache", e->run_id);
	durable__run_free(e->run);
	free(e->run_id);
	free(e);
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
	e->used = ++w->cache_tick;
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
