/* The run cache: the runs whose workflow function waits for their next
 * task (run.c), by run id, at most opts.run_cache of them. The least
 * recently used goes first; evicting one unwinds its function. Kept only
 * in this process: after a restart, or when another worker ran a task of
 * the run meanwhile, the task replays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
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

/* Removes the run from the cache and hands it over (NULL if none). */
static durable__run_t *runs_take(durable_worker_t *w, const char *run_id)
{
	struct durable__kept **k = find(w, run_id);
	return *k ? unlink_run(w, k) : NULL;
}

void durable__runs_drop(durable_worker_t *w, const char *run_id)
{
	durable__run_free(runs_take(w, run_id));
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

/* Hands the run to the cache, evicting the least recently used. */
static void runs_put(durable_worker_t *w, const char *run_id, durable__run_t *run)
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

/* Histories shorter than this (about ten activities) are replayed rather
 * than kept: a replay of them costs less than a kept run. */
#define KEEP_MIN_EVENTS 64

/* Whether running the task from its first event runs again what an earlier
 * task ran that could have been kept: the run's last completed workflow
 * task saw KEEP_MIN_EVENTS events or more (a shorter one replayed by
 * design, and was not kept). */
static int reruns_kept(const durable__task_t *task)
{
	for (size_t i = json_array_size(task->history); i > 0; i--) {
		json_t *ev = json_array_get(task->history, i - 1);
		if (strcmp(durable__event_type(ev), "WorkflowTaskCompleted") == 0)
			return durable__attr_int(ev, "started_event_id") >= KEEP_MIN_EVENTS;
	}
	return 0;
}

/* A replay the run cache did not spare: counted, and why in the log. */
static void replayed(durable_worker_t *w, const durable__task_t *task, const char *why)
{
	w->runs_replayed++;
	durable__log("DEBUG", "run %s: replaying %zu events: %s", task->run_id, json_array_size(task->history), why);
}

/* Keeps *run after a task with outcome out, or frees it and says why. */
static void keep_or_free(durable_worker_t *w, const char *run_id, durable__run_t *run, const durable__outcome_t *out)
{
	if (durable__run_goes_on(run, out)) {
		runs_put(w, run_id, run);
		return;
	}
	if (run)
		durable__log("DEBUG", "run %s: not kept: %s", run_id, durable__run_why_not(run, out));
	durable__run_free(run);
}

int durable__runs_task(durable_worker_t *w, durable_workflow_fn fn, const durable__task_t *task,
		       durable__outcome_t *out)
{
	durable__run_t *run = w->opts.run_cache > 0 && fn ? runs_take(w, task->run_id) : NULL;
	if (run) {
		if (durable__run_resume(run, task, out) == 0) {
			w->runs_resumed++;
			keep_or_free(w, task->run_id, run, out);
			return 0;
		}
		w->runs_overtaken++;
		durable__run_free(run);
		replayed(w, task, "the new events do not continue its kept run (another worker's task, or a failed one)");
	} else if (w->opts.run_cache <= 0 || !fn || json_array_size(task->history) < KEEP_MIN_EVENTS) {
		/* a short history replays for less than keeping its run costs */
		return durable__replay(fn, task, out);
	} else if (reruns_kept(task)) {
		replayed(w, task, "no kept run (the worker's first task of the run, or it was evicted or not kept)");
	}
	if (durable__run_start(fn, task, out, &run) < 0)
		return -ENOMEM;
	keep_or_free(w, task->run_id, run, out);
	return 0;
}

int durable__runs_locals(durable_worker_t *w, durable_workflow_fn fn, const durable__task_t *task,
			 durable__outcome_t *out)
{
	durable__run_t *run = fn ? runs_take(w, task->run_id) : NULL;
	if (run && durable__run_locals(run, task, out) == 0) {
		w->runs_resumed++;
		keep_or_free(w, task->run_id, run, out);
		return 0;
	}
	durable__run_free(run);
	if (w->opts.run_cache <= 0 || !fn)
		return durable__replay(fn, task, out);
	if (run)
		replayed(w, task, "its kept run cannot take these local activity outcomes (a backoff to wait with a timer)");
	else if (json_array_size(task->history) >= KEEP_MIN_EVENTS)
		replayed(w, task, "local activity outcomes, and no kept run (evicted meanwhile, or not kept)");
	/* a run that goes on with the next rounds */
	if (durable__run_start(fn, task, out, &run) < 0)
		return -ENOMEM;
	keep_or_free(w, task->run_id, run, out);
	return 0;
}
