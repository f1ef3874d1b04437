/* The history cache: the histories of runs this worker replayed last, so
 * that the store sends only the newer events: it remembers which runs it
 * sent this worker process (poll_workflow_tasks' `sticky`, api/82_sticky.sql),
 * or, a store without sticky histories, a poll passes {"<run_id>":
 * last_event_id} (its `cached` argument). Bounded: the
 * least recently used runs go first, and only between polls and hand-backs
 * (activity.c), so an entry named in one is there when its answer arrives;
 * a run dropped meanwhile keeps its events until then, marked dropped, and
 * its name goes on a list that a trim reads once no request that could have
 * named it is in flight (runtime.h, cache_requests): that trim visits the
 * runs dropped since, not the whole cache (up to 4,096 runs, at every poll:
 * a tenth of the worker's CPU in the one-activity shape, whose every run is
 * dropped when it closes). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_text.h"
#include "runtime.h"

static int64_t last_id(json_t *events)
{
	json_t *last = json_array_get(events, json_array_size(events) - 1);
	return json_integer_value(json_object_get(last, "event_id"));
}

/* The text is written straight, not built as a JSON object and dumped: a
 * poll made it for every run of a full cache (128 by default), which cost
 * more than a tenth of the worker's CPU in the bench's shapes. */
char *durable__cache_param(durable_worker_t *w)
{
	const char *run;
	json_t *e;
	if (!w->cache || json_object_size(w->cache) == 0)
		return NULL;
	size_t room = 3;
	json_object_foreach(w->cache, run, e)
		room += 6 * strlen(run) + 3 + 1 + 21 + 1;
	char *text = malloc(room), *out = text;
	if (!text)
		return NULL;
	*out++ = '{';
	json_object_foreach(w->cache, run, e) {
		if (json_object_get(e, "dropped"))
			continue;
		if (out > text + 1)
			*out++ = ',';
		out += durable__json_quote(out, run, strlen(run));
		out += sprintf(out, ":%" PRId64, last_id(json_object_get(e, "events")));
	}
	*out++ = '}';
	*out = '\0';
	return text;
}

/* Deletes run_id's entry, its events no longer counted. */
static void forget(durable_worker_t *w, const char *run_id)
{
	json_t *e = json_object_get(w->cache, run_id);
	if (!e)
		return;
	w->cache_events -= json_array_size(json_object_get(e, "events"));
	json_object_del(w->cache, run_id);
}

json_t *durable__cache_merge(durable_worker_t *w, const char *run_id, json_t *fresh)
{
	json_t *first = json_array_get(fresh, 0);
	int64_t first_id = first ? json_integer_value(json_object_get(first, "event_id")) : 0;
	json_t *e = w->cache ? json_object_get(w->cache, run_id) : NULL;
	if (first_id == 1) {
		if (!w->cache)
			return json_incref(fresh);
		forget(w, run_id);
		e = json_pack("{s:O, s:I}", "events", fresh, "used", (json_int_t)++w->cache_tick);
		if (!e || json_object_set_new(w->cache, run_id, e) < 0)
			return json_incref(fresh);
		w->cache_events += json_array_size(fresh);
		return json_incref(fresh);
	}
	json_t *events = json_object_get(e, "events");
	if (!events || (first && first_id > last_id(events) + 1))
		return NULL;   /* not the continuation of what we have */
	/* Events the cache already holds: a hand-back (activity.c) named the
	 * run's cache as it was when the outcomes left, and a task of the run
	 * may have run since. The history only grows, so they are the same
	 * events: the rest continues it. */
	size_t skip = 0;
	while (skip < json_array_size(fresh) &&
	       json_integer_value(json_object_get(json_array_get(fresh, skip), "event_id")) <= last_id(events))
		skip++;
	if (skip > 0) {
		json_t *rest = json_array();
		for (size_t i = skip; rest && i < json_array_size(fresh); i++)
			json_array_append(rest, json_array_get(fresh, i));
		if (!rest)
			return NULL;
		json_t *merged = durable__cache_merge(w, run_id, rest);
		json_decref(rest);
		return merged;
	}
	durable__log("DEBUG", "run %s: %zu cached events + %zu new", run_id, json_array_size(events),
		     json_array_size(fresh));
	json_object_del(e, "dropped");
	json_array_extend(events, fresh);
	w->cache_events += json_array_size(fresh);
	json_object_set_new(e, "used", json_integer((json_int_t)++w->cache_tick));
	return json_incref(events);
}

/* run_id goes on the list of runs marked dropped; when that cannot be
 * (out of memory), the next trim looks at the whole cache instead. */
static void note_dropped(durable_worker_t *w, const char *run_id)
{
	if (w->cache_ndropped == w->cache_dropped_cap) {
		size_t cap = w->cache_dropped_cap ? 2 * w->cache_dropped_cap : 64;
		char **more = realloc(w->cache_dropped, cap * sizeof(*more));
		if (more)
			w->cache_dropped = more;
		uint64_t *seqs = more ? realloc(w->cache_dropped_seq, cap * sizeof(*seqs)) : NULL;
		if (!seqs) {
			w->cache_dropped_lost = 1;
			return;
		}
		w->cache_dropped_seq = seqs;
		w->cache_dropped_cap = cap;
	}
	char *name = strdup(run_id);
	if (!name) {
		w->cache_dropped_lost = 1;
		return;
	}
	w->cache_dropped_seq[w->cache_ndropped] = w->cache_requests;
	w->cache_dropped[w->cache_ndropped++] = name;
}

/* The number of the oldest request in flight that names the cache, or
 * UINT64_MAX when none is. */
static uint64_t oldest_named(durable_worker_t *w)
{
	uint64_t oldest = UINT64_MAX;
	if (w->wf_polling && w->wf_poll_named < oldest)
		oldest = w->wf_poll_named;
	if (w->handing_back > 0 && w->handback_named < oldest)
		oldest = w->handback_named;
	return oldest;
}

/* Forgets the runs still marked dropped that no request in flight named:
 * those on the list dropped before the oldest request in flight was sent
 * (a name whose entry went since, evicted or made anew, or that an answer
 * continued, which unmarks it, is passed over; the others stay listed), or,
 * with nothing in flight, all of them when a name could not be listed. */
void durable__cache_forget_dropped(durable_worker_t *w)
{
	if (!w->cache)
		return;
	uint64_t oldest = oldest_named(w);
	size_t kept = 0;
	for (size_t i = 0; i < w->cache_ndropped; i++) {
		if (w->cache_dropped_seq[i] >= oldest) {
			w->cache_dropped_seq[kept] = w->cache_dropped_seq[i];
			w->cache_dropped[kept++] = w->cache_dropped[i];
			continue;
		}
		json_t *e = json_object_get(w->cache, w->cache_dropped[i]);
		if (e && json_object_get(e, "dropped"))
			forget(w, w->cache_dropped[i]);
		free(w->cache_dropped[i]);
	}
	w->cache_ndropped = kept;
	if (w->cache_dropped_lost && oldest == UINT64_MAX) {
		const char *gone;
		json_t *entry;
		void *next;
		json_object_foreach_safe(w->cache, next, gone, entry)
			if (json_object_get(entry, "dropped"))
				forget(w, gone);
		w->cache_dropped_lost = 0;
	}
}

void durable__cache_free(durable_worker_t *w)
{
	for (size_t i = 0; i < w->cache_ndropped; i++)
		free(w->cache_dropped[i]);
	free(w->cache_dropped);
	free(w->cache_dropped_seq);
	w->cache_dropped = NULL;
	w->cache_dropped_seq = NULL;
	w->cache_ndropped = w->cache_dropped_cap = 0;
	json_decref(w->cache);
	w->cache = NULL;
}

void durable__cache_drop(durable_worker_t *w, const char *run_id)
{
	durable__runs_drop(w, run_id);
	json_t *e = w->cache ? json_object_get(w->cache, run_id) : NULL;
	/* A hand-back or a poll in flight named the run: its answer may bring
	 * the run's next task (a failed task's retry, a close refused because
	 * a signal came) with only the events after those named. The history
	 * only grows, so they continue these; without them the task would be
	 * skipped and time out. The replay starts afresh all the same. */
	if (e && (w->handing_back > 0 || w->wf_polling)) {
		if (!json_object_get(e, "dropped")) {
			json_object_set_new(e, "dropped", json_true());
			note_dropped(w, run_id);
		}
	} else if (e)
		forget(w, run_id);
}

/* The runs the cache holds at most: a store without sticky histories is
 * named them all in every poll, so there the default is smaller. */
size_t durable__cache_limit(durable_worker_t *w)
{
	if (w->store_no_sticky && !w->cache_size_given && w->opts.history_cache > DURABLE__OLD_STORE_CACHE)
		return DURABLE__OLD_STORE_CACHE;
	return (size_t)w->opts.history_cache;
}

struct by_use {
	json_int_t used;
	const char *run;
};

static int by_use_cmp(const void *a, const void *b)
{
	json_int_t x = ((const struct by_use *)a)->used, y = ((const struct by_use *)b)->used;
	return x < y ? -1 : x > y;
}

void durable__cache_trim(durable_worker_t *w)
{
	/* runs dropped while a request named them: those whose answers are in */
	durable__cache_forget_dropped(w);
	/* an activity completion in flight named the cache's runs (the
	 * hand-back): its answer continues them */
	if (w->handing_back > 0)
		return;
	const char *gone;
	json_t *entry;
	size_t n = w->cache ? json_object_size(w->cache) : 0, keep = durable__cache_limit(w);
	if (n <= keep && w->cache_events <= w->cache_events_max)
		return;
	/* the least recently used, all found in one pass and one sort (a poll
	 * trims as many as the last one brought new runs) */
	struct by_use *all = malloc(n * sizeof(*all));
	size_t i = 0;
	if (!all)
		return;   /* out of memory: trimmed at the next poll */
	json_object_foreach(w->cache, gone, entry) {
		all[i].used = json_integer_value(json_object_get(entry, "used"));
		all[i++].run = gone;
	}
	qsort(all, n, sizeof(*all), by_use_cmp);
	/* past the runs it may hold, or the events: the most recently used
	 * stays, however long its history (a run alone past the bound would
	 * otherwise come whole with every task) */
	for (i = 0; i + 1 < n && (n - i > keep || w->cache_events > w->cache_events_max); i++) {
		/* the key is the entry's own: the run goes first */
		durable__runs_drop(w, all[i].run);
		forget(w, all[i].run);
	}
	free(all);
}
