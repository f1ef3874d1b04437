/* Unit tests of the history cache: full histories, continuations, an
 * overlap, a gap, the poll argument, least-recently-used trimming, and the
 * list of runs dropped while a request named them. */
#include <string.h>
#include "check.h"
#include "runtime.h"

static json_t *events(int from, int to)
{
	json_t *a = json_array();
	for (int i = from; i <= to; i++)
		json_array_append_new(a, json_pack("{s:i, s:s}", "event_id", i, "event_type", "X"));
	return a;
}

/* n runs PREFIX0..PREFIXn-1 merged whole into the cache, run i with events
 * 1..last + i * grow */
static void merge_runs(durable_worker_t *w, const char *prefix, int n, int last, int grow)
{
	for (int i = 0; i < n; i++) {
		char run[16];
		snprintf(run, sizeof(run), "%s%d", prefix, i);
		json_t *e = events(1, last + i * grow);
		json_decref(durable__cache_merge(w, run, e));
		json_decref(e);
	}
}

/* the poll argument, read back */
static json_t *param_of(durable_worker_t *w)
{
	char *text = durable__cache_param(w);
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(!text || json_is_object(v), "the poll argument is a JSON object: %s", text);
	free(text);
	return v;
}

int main(void)
{
	durable_worker_options_t o = {.task_queue = "unit", .history_cache = 2};
	durable_worker_t *w;
	CHECK(durable_worker_new(&o, &w) == 0, "worker");

	json_t *e = events(1, 3), *full = durable__cache_merge(w, "r1", e);
	CHECK(json_array_size(full) == 3, "a full history is kept as is");
	json_decref(full);
	json_decref(e);
	json_t *param = param_of(w);
	CHECK(json_integer_value(json_object_get(param, "r1")) == 3, "the poll names r1 with its last event");
	json_decref(param);

	e = events(4, 6);
	full = durable__cache_merge(w, "r1", e);
	CHECK(json_array_size(full) == 6, "the continuation is appended: %zu", json_array_size(full));
	CHECK(json_integer_value(json_object_get(json_array_get(full, 5), "event_id")) == 6, "in order");
	json_decref(full);
	json_decref(e);

	/* a hand-back's answer named the cache as it was when the outcomes
	 * left: what the cache holds since is skipped, the rest appended */
	e = events(5, 8);
	full = durable__cache_merge(w, "r1", e);
	CHECK(json_array_size(full) == 8, "an overlap continues the cache: %zu", json_array_size(full));
	CHECK(json_integer_value(json_object_get(json_array_get(full, 6), "event_id")) == 7, "without repeating events");
	json_decref(full);
	json_decref(e);
	e = events(3, 8);
	full = durable__cache_merge(w, "r1", e);
	CHECK(json_array_size(full) == 8, "nothing new: the cache as it is (%zu)", json_array_size(full));
	json_decref(full);
	json_decref(e);

	e = events(11, 12);
	full = durable__cache_merge(w, "r1", e);
	CHECK(full == NULL, "a gap is refused");
	json_decref(e);
	e = events(2, 3);
	CHECK(durable__cache_merge(w, "unknown", e) == NULL, "a partial history of an unknown run is refused");
	json_decref(e);

	merge_runs(w, "x", 3, 1, 0);
	/* while a hand-back that named them is in flight, none goes */
	w->handing_back = 1;
	durable__cache_trim(w);
	param = param_of(w);
	CHECK(json_object_size(param) == 4, "not trimmed while a hand-back is in flight: %zu", json_object_size(param));
	json_decref(param);
	w->handing_back = 0;
	durable__cache_trim(w);
	param = param_of(w);
	CHECK(json_object_size(param) == 2, "trimmed to the cap: %zu", json_object_size(param));
	CHECK(json_object_get(param, "r1") == NULL && json_object_get(param, "x0") == NULL, "oldest go first");
	CHECK(json_object_get(param, "x2") != NULL, "newest stays");
	json_decref(param);
	durable__cache_drop(w, "x2");
	param = param_of(w);
	CHECK(json_object_size(param) == 1, "dropped");
	json_decref(param);

	/* A run dropped (its task failed, or its close was refused because a
	 * signal came meanwhile) while a hand-back or a poll that named it is
	 * in flight: the answer may bring the run's next task with only the
	 * events after those named, and they continue what the cache held. */
	const char *flights[] = {"hand-back", "poll"};
	for (int f = 0; f < 2; f++) {
		e = events(1, 5);
		json_decref(durable__cache_merge(w, "d", e));
		json_decref(e);
		if (f == 0)
			w->handing_back = 1;
		else
			w->wf_polling = 1;
		durable__cache_drop(w, "d");
		param = param_of(w);
		CHECK(json_object_get(param, "d") == NULL, "%s in flight: a request made now does not name the dropped run",
		      flights[f]);
		json_decref(param);
		e = events(6, 7);
		full = durable__cache_merge(w, "d", e);
		CHECK(json_array_size(full) == 7, "%s in flight: its answer continues the dropped run's events (%zu)",
		      flights[f], json_array_size(full));
		json_decref(full);
		json_decref(e);
		durable__cache_drop(w, "d");
		w->handing_back = 0;
		w->wf_polling = 0;
		durable__cache_trim(w);
		e = events(8, 9);
		CHECK(durable__cache_merge(w, "d", e) == NULL, "%s answered: the dropped run is gone at the next trim",
		      flights[f]);
		json_decref(e);
	}
	durable_worker_free(w);

	/* a key that needs escaping is still JSON; a trim of many goes by use */
	o.history_cache = 3;
	CHECK(durable_worker_new(&o, &w) == 0, "worker");
	const char *odd = "q\"b\\\n";
	e = events(1, 4);
	json_decref(durable__cache_merge(w, odd, e));
	json_decref(e);
	param = param_of(w);
	CHECK(json_integer_value(json_object_get(param, odd)) == 4, "an odd run id, escaped");
	json_decref(param);
	merge_runs(w, "m", 10, 1, 1);
	e = events(2, 2);
	json_decref(durable__cache_merge(w, "m1", e));   /* used last */
	json_decref(e);
	durable__cache_trim(w);
	param = param_of(w);
	CHECK(json_object_size(param) == 3, "eight trimmed in one go: %zu left", json_object_size(param));
	CHECK(json_integer_value(json_object_get(param, "m1")) == 2 && json_object_get(param, "m9") &&
		      json_object_get(param, "m8"),
	      "the three used last stay");
	json_decref(param);
	durable_worker_free(w);

	/* the events held in all are bounded too: the least recently used
	 * go first, the run used last stays however long it is; a store
	 * without sticky histories gets the smaller default */
	o.history_cache = 0;
	CHECK(durable_worker_new(&o, &w) == 0, "worker with the default cache");
	CHECK(durable__cache_limit(w) == DURABLE__HISTORY_CACHE_DEFAULT, "the default: %zu runs", durable__cache_limit(w));
	w->store_no_sticky = 1;
	CHECK(durable__cache_limit(w) == DURABLE__OLD_STORE_CACHE, "against an old store: %zu", durable__cache_limit(w));
	w->store_no_sticky = 0;
	w->cache_events_max = 10;
	merge_runs(w, "b", 4, 4, 0);
	CHECK(w->cache_events == 16, "sixteen events held: %zu", w->cache_events);
	durable__cache_trim(w);
	CHECK(w->cache_events == 8 && json_object_size(w->cache) == 2 && json_object_get(w->cache, "b3") &&
		      json_object_get(w->cache, "b2"),
	      "trimmed to the two used last (%zu events)", w->cache_events);
	e = events(5, 6);
	json_decref(durable__cache_merge(w, "b2", e));
	json_decref(e);
	CHECK(w->cache_events == 10, "a continuation counts its events: %zu", w->cache_events);
	durable__cache_drop(w, "b3");
	CHECK(w->cache_events == 6, "a drop uncounts them: %zu", w->cache_events);
	e = events(1, 30);
	json_decref(durable__cache_merge(w, "long", e));
	json_decref(e);
	durable__cache_trim(w);
	CHECK(json_object_size(w->cache) == 1 && json_object_get(w->cache, "long") && w->cache_events == 30,
	      "a run alone past the bound, used last, stays (%zu events)", w->cache_events);
	e = events(1, 3);
	json_decref(durable__cache_merge(w, "long", e));
	json_decref(e);
	CHECK(w->cache_events == 3, "a whole history again replaces the run's: %zu", w->cache_events);
	durable_worker_free(w);

	/* Runs dropped while a poll is in flight are listed, and the next trim
	 * with none in flight forgets those still marked: only them. */
	o.history_cache = 100;
	CHECK(durable_worker_new(&o, &w) == 0, "worker");
	merge_runs(w, "p", 8, 3, 0);
	w->wf_polling = 1;
	durable__cache_drop(w, "p1");
	durable__cache_drop(w, "p2");
	durable__cache_drop(w, "p3");
	durable__cache_drop(w, "p3");
	CHECK(w->cache_ndropped == 3, "three runs dropped in flight are listed once each: %zu", w->cache_ndropped);
	durable__cache_trim(w);
	CHECK(w->cache_ndropped == 3 && json_object_size(w->cache) == 8,
	      "a trim with the poll still in flight keeps them (%zu listed, %zu held)", w->cache_ndropped,
	      json_object_size(w->cache));
	/* the poll's answer continues p2: no longer dropped */
	e = events(4, 5);
	full = durable__cache_merge(w, "p2", e);
	CHECK(json_array_size(full) == 5, "the answer continues a dropped run (%zu)", json_array_size(full));
	json_decref(full);
	json_decref(e);
	/* p3 comes whole (a refetch after a crash of what it followed) */
	e = events(1, 6);
	json_decref(durable__cache_merge(w, "p3", e));
	json_decref(e);
	w->wf_polling = 0;
	durable__cache_trim(w);
	CHECK(w->cache_ndropped == 0, "the trim empties the list: %zu", w->cache_ndropped);
	CHECK(json_object_size(w->cache) == 7 && !json_object_get(w->cache, "p1") && json_object_get(w->cache, "p2") &&
		      json_object_get(w->cache, "p3") && json_object_get(w->cache, "p0"),
	      "only the run still marked went (%zu held)", json_object_size(w->cache));
	CHECK(w->cache_events == 3 * 5 + 5 + 6, "its events uncounted: %zu", w->cache_events);
	/* a dropped run's next task brings only its newest events: refused,
	 * which asks the store for the whole history */
	e = events(4, 5);
	CHECK(durable__cache_merge(w, "p1", e) == NULL, "a forgotten run's continuation is refused");
	json_decref(e);
	e = events(1, 5);
	full = durable__cache_merge(w, "p1", e);
	CHECK(json_array_size(full) == 5 && json_object_get(w->cache, "p1"), "its whole history is kept again");
	json_decref(full);
	json_decref(e);
	/* a listed run evicted meanwhile, and its name made anew, unmarked:
	 * the list passes over it */
	w->wf_polling = 1;
	durable__cache_drop(w, "p0");
	w->wf_polling = 0;
	w->handing_back = 1;
	durable__cache_drop(w, "p4");
	w->handing_back = 0;
	CHECK(w->cache_ndropped == 2, "dropped in a hand-back too: %zu listed", w->cache_ndropped);
	w->cache_events_max = 5;
	w->wf_polling = 1;
	durable__cache_trim(w);
	CHECK(json_object_size(w->cache) == 1 && w->cache_ndropped == 2, "evicted all but one while the poll is out");
	e = events(1, 2);
	json_decref(durable__cache_merge(w, "p0", e));
	json_decref(e);
	w->cache_events_max = DURABLE__CACHE_EVENTS;
	w->wf_polling = 0;
	durable__cache_trim(w);
	CHECK(json_object_get(w->cache, "p0") && w->cache_ndropped == 0, "a run made anew after its listing stays");
	/* a name that could not be listed (out of memory): the trim looks at
	 * every run */
	w->wf_polling = 1;
	durable__cache_drop(w, "p0");
	free(w->cache_dropped[--w->cache_ndropped]);
	w->cache_dropped_lost = 1;
	w->wf_polling = 0;
	durable__cache_trim(w);
	CHECK(!json_object_get(w->cache, "p0") && !w->cache_dropped_lost, "an unlisted dropped run goes all the same");
	/* A poll and a hand-back that overlap, each sent while the other is in
	 * flight (a burst, with the activity outcomes on their own connection):
	 * a run dropped while the poll was in flight goes once the poll is
	 * answered, though the hand-back sent since is still out (it did not
	 * name it); one dropped while that hand-back is out stays until it is
	 * answered. */
	merge_runs(w, "o", 2, 3, 0);
	w->wf_polling = 1;
	w->wf_poll_named = ++w->cache_requests;
	durable__cache_drop(w, "o0");
	w->handing_back = 1;
	w->handback_named = ++w->cache_requests;
	w->wf_polling = 0;   /* the poll is answered */
	durable__cache_drop(w, "o1");
	durable__cache_trim(w);
	CHECK(!json_object_get(w->cache, "o0"),
	      "a run dropped while the answered poll was out goes, with a hand-back sent since still out");
	CHECK(json_object_get(w->cache, "o1") && w->cache_ndropped == 1,
	      "a run dropped while the hand-back is out stays listed (%zu)", w->cache_ndropped);
	w->handing_back = 0;
	durable__cache_trim(w);
	CHECK(!json_object_get(w->cache, "o1") && w->cache_ndropped == 0, "and goes once it is answered");
	/* freed with names still listed (valgrind, ASan: no leak) */
	merge_runs(w, "z", 2, 1, 0);
	w->wf_polling = 1;
	durable__cache_drop(w, "z0");
	durable__cache_drop(w, "z1");
	durable_worker_free(w);

	o.history_cache = -1;
	CHECK(durable_worker_new(&o, &w) == 0, "worker without cache");
	e = events(1, 2);
	full = durable__cache_merge(w, "r", e);
	CHECK(full == e, "without a cache the history passes through");
	json_decref(full);
	json_decref(e);
	CHECK(param_of(w) == NULL, "and polls name nothing");
	durable_worker_free(w);
	return CHECK_DONE();
}
