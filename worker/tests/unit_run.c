/* Kept runs (run.c) against replays: a small store (sim_t) turns each
 * task's commands into the events the store would record and lets the
 * world answer (activities complete, timers fire, signals come); the same
 * workflow runs once replayed from its first event on every task and once
 * kept between tasks, and every task must give the same commands. Then
 * what makes a kept run untrustworthy: another worker's task, a gap, an
 * eviction that must unwind the function. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "replay.h"
#include "run.h"

typedef struct {
	json_t *events;
	int64_t next, started;
	struct { int64_t event_id; int timer; char id[64]; json_t *input; } pending[64];
	int npending, step, closed;
} sim_t;

static int64_t add(sim_t *s, const char *type, json_t *attrs)
{
	char when[64];
	int64_t id = ++s->next;
	snprintf(when, sizeof(when), "2026-01-01T%02lld:%02lld:%02lld.000000+00:00", (long long)(id / 3600),
		 (long long)(id / 60 % 60), (long long)(id % 60));
	json_array_append_new(s->events, json_pack("{s:I, s:s, s:s, s:o}", "event_id", (json_int_t)id, "event_type",
						   type, "event_time", when, "attributes", attrs ? attrs : json_object()));
	return id;
}

static void new_task(sim_t *s)
{
	int64_t sched = add(s, "WorkflowTaskScheduled", NULL);
	s->started = add(s, "WorkflowTaskStarted", json_pack("{s:I}", "scheduled_event_id", (json_int_t)sched));
}

static void sim_start(sim_t *s, json_t *input)
{
	memset(s, 0, sizeof(*s));
	s->events = json_array();
	add(s, "WorkflowExecutionStarted", json_pack("{s:s, s:o}", "workflow_type", "T", "input", input));
	new_task(s);
}

static void sim_free(sim_t *s)
{
	for (int i = 0; i < s->npending; i++)
		json_decref(s->pending[i].input);
	json_decref(s->events);
}

static void pend(sim_t *s, int64_t id, int timer, const char *key, json_t *input)
{
	if (s->npending == 64)
		return;
	s->pending[s->npending].event_id = id;
	s->pending[s->npending].timer = timer;
	snprintf(s->pending[s->npending].id, sizeof(s->pending[0].id), "%s", key);
	s->pending[s->npending++].input = json_incref(input);
}

static void unpend(sim_t *s, int i)
{
	json_decref(s->pending[i].input);
	memmove(&s->pending[i], &s->pending[i + 1], (size_t)(s->npending - i - 1) * sizeof(s->pending[0]));
	s->npending--;
}

/* What the store records for a task's commands. */
static void apply(sim_t *s, json_t *commands)
{
	int64_t wtc = add(s, "WorkflowTaskCompleted", json_pack("{s:I}", "started_event_id", (json_int_t)s->started));
	size_t i;
	json_t *c;
	json_array_foreach(commands, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (strcmp(t, "ScheduleActivityTask") == 0) {
			const char *id = json_string_value(json_object_get(c, "activity_id"));
			int64_t e = add(s, "ActivityTaskScheduled",
					json_pack("{s:s, s:O, s:O, s:I}", "activity_id", id, "activity_type",
						  json_object_get(c, "activity_type"), "input", json_object_get(c, "input"),
						  "workflow_task_completed_event_id", (json_int_t)wtc));
			pend(s, e, 0, id, json_object_get(c, "input"));
		} else if (strcmp(t, "StartTimer") == 0) {
			const char *id = json_string_value(json_object_get(c, "timer_id"));
			int64_t e = add(s, "TimerStarted", json_pack("{s:s, s:I}", "timer_id", id,
								     "workflow_task_completed_event_id", (json_int_t)wtc));
			pend(s, e, 1, id, NULL);
		} else if (strcmp(t, "CancelTimer") == 0) {
			for (int k = 0; k < s->npending; k++)
				if (s->pending[k].timer && strcmp(s->pending[k].id, json_string_value(json_object_get(c, "timer_id"))) == 0) {
					add(s, "TimerCanceled", json_pack("{s:s, s:I}", "timer_id", s->pending[k].id,
									  "started_event_id", (json_int_t)s->pending[k].event_id));
					unpend(s, k);
					break;
				}
		} else if (strcmp(t, "RecordMarker") == 0) {
			add(s, "MarkerRecorded", json_pack("{s:O, s:O*, s:I}", "marker_name", json_object_get(c, "marker_name"),
							   "details", json_object_get(c, "details"),
							   "workflow_task_completed_event_id", (json_int_t)wtc));
		} else if (strcmp(t, "UpsertWorkflowSearchAttributes") == 0) {
			add(s, "UpsertWorkflowSearchAttributes",
			    json_pack("{s:O, s:I}", "search_attributes", json_object_get(c, "search_attributes"),
				      "workflow_task_completed_event_id", (json_int_t)wtc));
		} else if (strstr(t, "WorkflowExecution")) {
			add(s, "WorkflowExecutionCompleted", json_pack("{s:O*}", "result", json_object_get(c, "result")));
			s->closed = 1;
		}
	}
}

/* The world goes on until the next task: the oldest pending activity or
 * timer ends (the newest first on odd steps, so that waits see both
 * orders), and every third step a signal comes. */
static void world(sim_t *s)
{
	s->step++;
	if (s->step % 3 == 1)
		add(s, "WorkflowExecutionSignaled", json_pack("{s:s, s:{s:i}}", "signal_name", "poke", "input", "step", s->step));
	if (s->npending > 0) {
		int i = s->step % 2 ? s->npending - 1 : 0;
		if (s->pending[i].timer) {
			add(s, "TimerFired", json_pack("{s:s, s:I}", "timer_id", s->pending[i].id, "started_event_id",
						       (json_int_t)s->pending[i].event_id));
		} else {
			add(s, "ActivityTaskStarted", json_pack("{s:I}", "scheduled_event_id", (json_int_t)s->pending[i].event_id));
			add(s, "ActivityTaskCompleted", json_pack("{s:I, s:{s:O, s:i}}", "scheduled_event_id",
								  (json_int_t)s->pending[i].event_id, "result", "echo",
								  s->pending[i].input, "step", s->step));
		}
		unpend(s, i);
	}
	new_task(s);
}

static durable__task_t task_of(sim_t *s)
{
	return (durable__task_t){.workflow_id = "wf-1", .run_id = "11111111-2222-3333-4444-555555555555",
				 .workflow_type = "T", .history = s->events, .started_event_id = s->started};
}

/* Workflows ---------------------------------------------------------------- */

static json_t *pick(durable_ctx_t *ctx, void *arg)
{
	(void)arg;
	return durable_json(ctx, "I", (json_int_t)(durable_random(ctx) % 100));
}

static int cleanups;   /* wf_mixed's ends, including the ones where it was unwound */

/* A bit of everything a kept run must continue exactly as a replay would:
 * state carried across tasks in a local variable, activities in sequence
 * and fanned out, timers, signals with a timeout, side effects, versions,
 * search attributes, the clock and the run's randomness. */
static int wf_mixed(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *acc = json_array();   /* the function's own, across its waits */
	int v, rc = 0;
	(void)input;
	if ((rc = durable_get_version(ctx, "c1", DURABLE_DEFAULT_VERSION, 2, &v)) < 0)
		goto out;
	for (int i = 0; i < 5; i++) {
		json_t *r, *payload = NULL, *se;
		if ((rc = durable_activity(ctx, "step", durable_json(ctx, "{s:i, s:I}", "i", i, "now", durable_now(ctx)), NULL, &r)) < 0)
			goto out;
		json_array_append(acc, r);
		if (i == 1 && (rc = durable_sleep(ctx, 5)) < 0)
			goto out;
		if (i == 2) {
			durable_future_t *fs[3];
			size_t which;
			for (int k = 0; k < 3; k++)
				if ((rc = durable_activity_start(ctx, "fan", durable_json(ctx, "{s:i}", "k", k), NULL, &fs[k])) < 0)
					goto out;
			if ((rc = durable_wait_any(ctx, fs, 3, &which)) < 0 || (rc = durable_wait_all(ctx, fs, 3)) < 0)
				goto out;
			json_array_append_new(acc, json_integer((json_int_t)which));
		}
		rc = durable_await_signal(ctx, "poke", 30, &payload);
		if (rc < 0 && rc != DURABLE_ETIMEDOUT)
			goto out;
		json_array_append(acc, payload ? payload : json_null());
		if ((rc = durable_side_effect(ctx, pick, NULL, &se)) < 0)
			goto out;
		json_array_append(acc, se);
		if (i == 3 && (rc = durable_upsert_search_attributes(ctx, durable_json(ctx, "{s:i}", "Step", i))) < 0)
			goto out;
	}
	*output = durable_keep(ctx, json_pack("{s:O, s:i, s:I}", "acc", acc, "v", v, "rnd",
					      (json_int_t)(durable_random(ctx) % 1000)));
	rc = 0;
out:
	json_decref(acc);
	cleanups++;
	return rc;
}

/* The worker's side of local activities: what an attempt gives, decided by
 * its request alone. "flaky" fails its first attempt with a backoff long
 * enough for a durable timer; everything else echoes its input. */
static json_t *local_outcome(json_t *req)
{
	json_t *d = json_pack("{s:O, s:O, s:O, s:I}", "activity_id", json_object_get(req, "activity_id"),
			      "activity_type", json_object_get(req, "activity_type"), "attempt",
			      json_object_get(req, "attempt"), "scheduled_time_ms", (json_int_t)1000);
	const char *type = json_string_value(json_object_get(req, "activity_type"));
	if (strcmp(type, "flaky") == 0 && json_integer_value(json_object_get(req, "attempt")) == 1) {
		json_object_set_new(d, "failure", json_pack("{s:s, s:s}", "message", "not yet", "type", "Flaky"));
		json_object_set_new(d, "backoff", json_real(90));
	} else {
		json_object_set_new(d, "result", json_pack("{s:O, s:O}", "echo", json_object_get(req, "input"), "key",
							   json_object_get(req, "key")));
	}
	return d;
}

static int kept_fallbacks;   /* local rounds the kept run could not take (replayed) */

/* A task that asked for local activities: the worker runs them and gives
 * the outcomes back, round after round, until the task completes. A kept
 * run (run != NULL) takes them as the worker's run cache does
 * (durable__runs_locals); otherwise the task replays with them. The
 * number of rounds. */
static int settle(durable_workflow_fn fn, durable__task_t *t, durable__outcome_t *o, durable__run_t **run)
{
	json_t *results = json_object();
	int rounds = 0;
	while (o->kind == DURABLE__LOCAL && rounds < 1000) {
		size_t i;
		json_t *req;
		json_array_foreach(o->local, i, req)
			json_object_set_new(results, json_string_value(json_object_get(req, "key")), local_outcome(req));
		durable__outcome_free(o);
		t->local_results = results;
		if (!run) {
			CHECK(durable__replay(fn, t, o) == 0, "replay with local outcomes");
		} else if (!*run || durable__run_locals(*run, t, o) != 0) {
			kept_fallbacks++;
			durable__run_free(*run);
			CHECK(durable__run_start(fn, t, o, run) == 0, "run start with local outcomes");
		}
		if (run && !durable__run_goes_on(*run, o)) {
			durable__run_free(*run);
			*run = NULL;
		}
		rounds++;
	}
	t->local_results = NULL;
	json_decref(results);
	return rounds;
}

static int local_entries;   /* how often wf_locals was entered */

/* Local activities in the ways code uses them: in sequence; fanned out with
 * an activity among them; looked at (is_ready, wait_any) before they are
 * waited for; one whose first attempt fails with a backoff that a durable
 * timer waits (the kept run cannot take that outcome: the round replays). */
static int wf_locals(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *acc = json_array();
	int rc = 0;
	(void)input;
	local_entries++;
	for (int i = 0; i < 24; i++) {
		json_t *r;
		durable_future_t *fs[3];
		size_t which;
		if ((rc = durable_local_activity(ctx, "quick", durable_json(ctx, "{s:i}", "i", i), NULL, &r)) < 0)
			goto out;
		json_array_append(acc, r);
		if (i % 5 == 1) {
			if ((rc = durable_local_activity_start(ctx, "quick", durable_json(ctx, "{s:s}", "a", "x"), NULL, &fs[0])) < 0 ||
			    (rc = durable_activity_start(ctx, "step", durable_json(ctx, "{s:i}", "i", i), NULL, &fs[1])) < 0 ||
			    (rc = durable_local_activity_start(ctx, "quick", durable_json(ctx, "{s:s}", "b", "y"), NULL, &fs[2])) < 0 ||
			    (rc = durable_wait_all(ctx, fs, 3)) < 0)
				goto out;
			for (int k = 0; k < 3; k++) {
				if ((rc = durable_future_get(ctx, fs[k], &r)) < 0)
					goto out;
				json_array_append(acc, r);
			}
		}
		if (i % 7 == 3) {
			if ((rc = durable_local_activity_start(ctx, "quick", durable_json(ctx, "{s:i}", "c", i), NULL, &fs[0])) < 0)
				goto out;
			json_array_append_new(acc, json_boolean(durable_future_is_ready(ctx, fs[0])));
			if ((rc = durable_timer_start(ctx, 10, &fs[1])) < 0 || (rc = durable_wait_any(ctx, fs, 2, &which)) < 0 ||
			    (rc = durable_future_cancel(ctx, fs[1])) < 0)
				goto out;
			json_array_append_new(acc, json_integer((json_int_t)which));
		}
		if (i == 10) {
			rc = durable_local_activity(ctx, "flaky", NULL, NULL, &r);
			if (rc < 0)
				goto out;
			json_array_append(acc, r);
		}
		if (i % 4 == 2 && (rc = durable_activity(ctx, "step", NULL, NULL, &r)) < 0)
			goto out;
	}
	*output = durable_keep(ctx, json_pack("{s:O}", "acc", acc));
out:
	json_decref(acc);
	return rc;
}

/* Tests --------------------------------------------------------------------- */

/* Runs wf to its end both ways, task by task; the number of tasks. */
static int run_both(durable_workflow_fn fn, int *resumed)
{
	sim_t a, b;
	durable__run_t *run = NULL;
	int tasks = 0;
	*resumed = 0;
	sim_start(&a, json_null());
	sim_start(&b, json_null());
	while (!a.closed && tasks < 200) {
		durable__outcome_t ra, rb;
		durable__task_t ta = task_of(&a), tb = task_of(&b);
		CHECK(durable__replay(fn, &ta, &ra) == 0, "replay");
		int rc = run ? durable__run_resume(run, &tb, &rb) : -EAGAIN;
		if (rc == 0) {
			(*resumed)++;
		} else {
			durable__run_free(run);
			CHECK(durable__run_start(fn, &tb, &rb, &run) == 0, "run start");
		}
		if (rb.kind == DURABLE__LOCAL && !durable__run_goes_on(run, &rb)) {
			durable__run_free(run);
			run = NULL;
		}
		settle(fn, &ta, &ra, NULL);
		settle(fn, &tb, &rb, &run);
		CHECK(ra.kind == DURABLE__COMPLETE && rb.kind == ra.kind, "task %d: kinds %d and %d", tasks, ra.kind, rb.kind);
		if (!json_equal(ra.commands, rb.commands)) {
			char *x = json_dumps(ra.commands, JSON_COMPACT), *y = json_dumps(rb.commands, JSON_COMPACT);
			CHECK(0, "task %d: replayed %s, kept %s", tasks, x, y);
			free(x);
			free(y);
		}
		apply(&a, ra.commands);
		apply(&b, ra.commands);
		durable__outcome_free(&ra);
		durable__outcome_free(&rb);
		if (!durable__run_waiting(run)) {   /* as after durable__run_goes_on on a completed task */
			durable__run_free(run);
			run = NULL;
		}
		if (!a.closed) {
			world(&a);
			world(&b);
		}
		tasks++;
	}
	CHECK(a.closed, "the workflow closed");
	CHECK(json_equal(a.events, b.events), "the same histories");
	durable__run_free(run);
	sim_free(&a);
	sim_free(&b);
	return tasks;
}

static void test_same_commands(void)
{
	int resumed;
	cleanups = 0;
	int tasks = run_both(wf_mixed, &resumed);
	CHECK(tasks > 10, "%d tasks", tasks);
	/* every task after the first went on from the kept run */
	CHECK(resumed == tasks - 1, "%d of %d tasks resumed", resumed, tasks);
	/* each replay ran the function to its end, the kept run once */
	CHECK(cleanups == tasks + 1, "%d ends for %d tasks", cleanups, tasks);

	/* local activities: the kept run takes every round's outcomes but the
	 * one with a backoff, and sends what the replay sends */
	kept_fallbacks = 0;
	tasks = run_both(wf_locals, &resumed);
	CHECK(tasks > 8, "%d tasks", tasks);
	CHECK(resumed == tasks - 1, "%d of %d tasks resumed (local activities)", resumed, tasks);
	CHECK(kept_fallbacks == 1, "local rounds replayed: %d, want 1 (the backoff)", kept_fallbacks);
}

static int wf_many_locals(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = NULL;
	local_entries++;
	for (json_int_t i = 0; i < json_integer_value(input); i++)
		DURABLE_TRY(durable_local_activity(ctx, "quick", durable_json(ctx, "I", i), NULL, &r));
	*output = r;
	return 0;
}

/* 400 local activities in one task: one round each, and the function runs
 * once (a replay per round made this quadratic). */
static void test_many_locals(void)
{
	sim_t s;
	durable__outcome_t o;
	durable__run_t *run = NULL;
	sim_start(&s, json_integer(400));
	durable__task_t t = task_of(&s);
	local_entries = 0;
	kept_fallbacks = 0;
	CHECK(durable__run_start(wf_many_locals, &t, &o, &run) == 0 && o.kind == DURABLE__LOCAL, "asks for the first");
	CHECK(durable__run_goes_on(run, &o), "kept while the worker runs it");
	int rounds = settle(wf_many_locals, &t, &o, &run);
	CHECK(rounds == 400, "%d rounds", rounds);
	CHECK(kept_fallbacks == 0 && local_entries == 1, "entered %d times, %d rounds replayed", local_entries,
	      kept_fallbacks);
	CHECK(o.kind == DURABLE__COMPLETE && json_array_size(o.commands) == 401, "400 markers and the completion (%zu)",
	      json_array_size(o.commands));
	durable__task_t rt = task_of(&s);
	durable__outcome_t ro;
	CHECK(durable__replay(wf_many_locals, &rt, &ro) == 0, "replay");
	settle(wf_many_locals, &rt, &ro, NULL);
	CHECK(json_equal(o.commands, ro.commands), "the replay sends the same");
	durable__outcome_free(&ro);
	durable__outcome_free(&o);
	durable__run_free(run);
	sim_free(&s);
}

/* Runs wf_mixed's first tasks kept; returns the run (waiting). */
static durable__run_t *kept_after(sim_t *s, int tasks)
{
	durable__run_t *run = NULL;
	durable__outcome_t o;
	durable__task_t t = task_of(s);
	CHECK(durable__run_start(wf_mixed, &t, &o, &run) == 0, "start");
	for (int i = 0; i < tasks; i++) {
		apply(s, o.commands);
		durable__outcome_free(&o);
		world(s);
		t = task_of(s);
		CHECK(durable__run_resume(run, &t, &o) == 0, "resume %d", i);
	}
	apply(s, o.commands);
	durable__outcome_free(&o);
	world(s);
	return run;
}

static void test_untrusted(void)
{
	sim_t s;
	durable__outcome_t o;
	durable__task_t t;

	/* another worker's task came between: its WorkflowTaskCompleted is
	 * not of the task the run ran last */
	sim_start(&s, json_null());
	durable__run_t *run = kept_after(&s, 2);
	json_t *last = json_array_get(s.events, json_array_size(s.events) - 1);
	json_object_set_new(json_object_get(last, "attributes"), "x", json_true());   /* harmless */
	add(&s, "WorkflowTaskTimedOut", NULL);
	int64_t other = s.started;
	new_task(&s);
	add(&s, "WorkflowTaskCompleted", json_pack("{s:I}", "started_event_id", (json_int_t)other + 2));
	new_task(&s);
	t = task_of(&s);
	CHECK(durable__run_resume(run, &t, &o) == -EAGAIN, "a foreign task is not continued");
	CHECK(durable__run_waiting(run), "the run is untouched");
	cleanups = 0;
	durable__run_free(run);
	CHECK(cleanups == 1, "freeing the run unwound its function (%d)", cleanups);
	sim_free(&s);

	/* the commands it sent are not what the store recorded */
	sim_start(&s, json_null());
	run = kept_after(&s, 1);
	json_t *sched = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(s.events, i, e)
		if (strcmp(json_string_value(json_object_get(e, "event_type")), "ActivityTaskScheduled") == 0)
			sched = e;
	json_object_set_new(sched, "event_type", json_string("TimerStarted"));
	t = task_of(&s);
	CHECK(durable__run_resume(run, &t, &o) == -EAGAIN, "other command events are not continued");
	durable__run_free(run);
	sim_free(&s);

	/* a different history array (the history cache started afresh) */
	sim_start(&s, json_null());
	run = kept_after(&s, 1);
	json_t *copy = json_deep_copy(s.events);
	t = task_of(&s);
	t.history = copy;
	CHECK(durable__run_resume(run, &t, &o) == -EAGAIN, "another history is not continued");
	/* nothing new */
	t = task_of(&s);
	t.started_event_id = s.started;
	json_decref(copy);
	durable__run_free(run);
	sim_free(&s);

	/* a run freed before its first task ends unwinds too */
	sim_start(&s, json_null());
	t = task_of(&s);
	cleanups = 0;
	CHECK(durable__run_start(wf_mixed, &t, &o, &run) == 0 && durable__run_waiting(run), "waits");
	durable__outcome_free(&o);
	durable__run_free(run);
	CHECK(cleanups == 1, "unwound once (%d)", cleanups);
	sim_free(&s);
}

static int wf_local(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "step", NULL, NULL, &r));
	DURABLE_TRY(durable_local_activity(ctx, "quick", NULL, NULL, &r));
	DURABLE_TRY(durable_activity(ctx, "step", r, NULL, &r));
	DURABLE_TRY(durable_activity(ctx, "step", r, NULL, &r));
	*output = r;
	return 0;
}

/* A local activity is run by the worker within its task: the kept run
 * waits for its outcome and goes on with it, as the task's replay with the
 * result does. Once its marker is in the history, a new run takes it from
 * there. */
static void test_local_activity(void)
{
	sim_t s;
	durable__outcome_t o, r;
	durable__run_t *run = NULL;
	sim_start(&s, json_null());
	durable__task_t t = task_of(&s);
	CHECK(durable__run_start(wf_local, &t, &o, &run) == 0, "start");
	CHECK(durable__run_waiting(run), "waits for its activity");
	apply(&s, o.commands);
	durable__outcome_free(&o);
	world(&s);
	t = task_of(&s);
	CHECK(durable__run_resume(run, &t, &o) == 0, "resumed");
	CHECK(o.kind == DURABLE__LOCAL, "asks for its local activity (%d)", o.kind);
	CHECK(durable__run_goes_on(run, &o) && !durable__run_waiting(run), "kept while it runs, not for a next task");
	durable__outcome_free(&o);
	CHECK(durable__run_resume(run, &t, &o) == -EAGAIN, "a task does not take it meanwhile");

	/* the worker ran it: the kept run goes on with the result, and sends
	 * what the task's replay with the result sends */
	t.local_results = json_pack("{s:{s:s, s:s, s:i, s:I, s:i}}", "2#1", "activity_id", "2", "activity_type", "quick",
				    "attempt", 1, "scheduled_time_ms", (json_int_t)1000, "result", 7);
	CHECK(durable__run_locals(run, &t, &o) == 0 && o.kind == DURABLE__COMPLETE, "the task completes (%d)", o.kind);
	CHECK(durable__replay(wf_local, &t, &r) == 0 && json_equal(o.commands, r.commands), "as the replay");
	durable__outcome_free(&r);
	CHECK(durable__run_locals(run, &t, &r) == -EAGAIN, "outcomes it did not wait for are refused");
	json_decref((json_t *)t.local_results);   /* the kept run holds what it took */
	t.local_results = NULL;
	durable__outcome_free(&r);
	apply(&s, o.commands);
	durable__outcome_free(&o);
	world(&s);
	t = task_of(&s);
	CHECK(durable__run_resume(run, &t, &o) == 0, "the kept run goes on with the next task");
	durable__outcome_free(&o);
	durable__run_free(run);

	/* the next task makes a run that is kept: the marker resolves it */
	t = task_of(&s);
	CHECK(durable__run_start(wf_local, &t, &o, &run) == 0 && durable__run_waiting(run), "kept after the marker");
	CHECK(durable__replay(wf_local, &t, &r) == 0 && json_equal(o.commands, r.commands), "as the replay");
	apply(&s, o.commands);
	durable__outcome_free(&o);
	durable__outcome_free(&r);
	world(&s);
	t = task_of(&s);
	CHECK(durable__run_resume(run, &t, &o) == 0, "goes on");
	CHECK(durable__replay(wf_local, &t, &r) == 0 && json_equal(o.commands, r.commands), "as the replay");
	const char *last = json_string_value(json_object_get(json_array_get(o.commands, json_array_size(o.commands) - 1), "type"));
	CHECK(last && strcmp(last, "CompleteWorkflowExecution") == 0, "completes (%s)", last ? last : "?");
	CHECK(!durable__run_waiting(run), "ended");
	durable__outcome_free(&o);
	durable__outcome_free(&r);
	durable__run_free(run);
	sim_free(&s);
}

/* What a kept run's pool holds (durable_json, the commands it sent) is
 * released only when the run is dropped: past durable__run_pool_bytes it
 * is unwound after its task and the next task replays with a fresh pool.
 * jansson's allocations are counted exactly (under ASan and valgrind too). */
static size_t json_held;
static void *counting_malloc(size_t n)
{
	size_t *p = malloc(n + 16);
	if (!p)
		return NULL;
	*p = n;
	json_held += n;
	return (char *)p + 16;
}

static void counting_free(void *q)
{
	if (!q)
		return;
	size_t *p = (size_t *)(void *)((char *)q - 16);
	json_held -= *p;
	free(p);
}

#define POOL_TASKS 120
static char blob[48 * 1024];

static int wf_pool(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	for (int i = 0; i < POOL_TASKS; i++) {
		if (!durable_json(ctx, "{s:s, s:i}", "blob", blob, "i", i))
			return -ENOMEM;
		DURABLE_TRY(durable_sleep(ctx, 1));
	}
	*output = durable_json(ctx, "s", "done");
	return 0;
}

/* Runs fn kept task by task, as the worker does (run_cache.c): a new run
 * when the kept one cannot go on. after(k) is called after each task.
 * Whether it completed; *starts: the runs it took. */
static int run_kept(durable_workflow_fn fn, int *starts, void (*after)(int k))
{
	sim_t s;
	durable__outcome_t o;
	durable__run_t *run = NULL;
	int done = 0;
	*starts = 0;
	sim_start(&s, json_null());
	for (int k = 0; k <= POOL_TASKS && !done; k++) {
		durable__task_t t = task_of(&s);
		if (!run || durable__run_resume(run, &t, &o) != 0) {
			durable__run_free(run);
			if (durable__run_start(fn, &t, &o, &run) < 0)
				break;   /* done stays 0 */
			(*starts)++;
		}
		done = o.kind == DURABLE__COMPLETE && json_array_size(o.commands) == 1 &&
		       strcmp(json_string_value(json_object_get(json_array_get(o.commands, 0), "type")) ?: "",
			      "CompleteWorkflowExecution") == 0;
		if (!durable__run_goes_on(run, &o)) {
			durable__run_free(run);
			run = NULL;
		}
		apply(&s, o.commands);
		durable__outcome_free(&o);
		world(&s);
		if (after)
			after(k);
	}
	durable__run_free(run);
	sim_free(&s);
	return done;
}

static size_t at10, most;
static void note_held(int k)
{
	if (k == 10)
		at10 = json_held;
	if (k > 10 && json_held > most)
		most = json_held;
}

static void test_pool_growth(void)
{
	json_malloc_t old_malloc;
	json_free_t old_free;
	json_get_alloc_funcs(&old_malloc, &old_free);
	json_set_alloc_funcs(counting_malloc, counting_free);
	memset(blob, 'x', sizeof(blob) - 1);
	size_t saved = durable__run_pool_bytes;
	durable__run_pool_bytes = 1 << 20;
	int starts;
	at10 = most = 0;
	CHECK(run_kept(wf_pool, &starts, note_held), "the run completes");
	CHECK(starts > 1, "the kept run was unwound past the bound (started %d times)", starts);
	/* the history grows too (a few events per task, well under 1 MiB) */
	CHECK(most < at10 + durable__run_pool_bytes + (1 << 20), "what jansson holds grows by %zu kB over %d tasks",
	      (most - at10) / 1024, POOL_TASKS - 10);
	durable__run_pool_bytes = saved;
	json_set_alloc_funcs(old_malloc, old_free);
}

static int wf_big_inputs(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	for (int i = 0; i < POOL_TASKS; i++) {
		json_t *r, *in = json_pack("{s:s, s:i}", "blob", blob, "i", i);   /* the code's own, not the pool's */
		int rc = durable_activity(ctx, "step", in, NULL, &r);
		json_decref(in);
		DURABLE_TRY(rc);
	}
	*output = durable_json(ctx, "s", "done");
	return 0;
}

/* What a kept run sent is not kept with it (only side effects' markers,
 * whose values the code borrows): 120 activities with 48 kB inputs do not
 * bring it to its pool's bound, and it is never unwound. */
static void test_sent_not_kept(void)
{
	memset(blob, 'x', sizeof(blob) - 1);
	size_t saved = durable__run_pool_bytes;
	durable__run_pool_bytes = 1 << 20;
	int starts;
	CHECK(run_kept(wf_big_inputs, &starts, NULL), "the run completes");
	CHECK(starts == 1, "started %d times, want once", starts);
	durable__run_pool_bytes = saved;
}

int main(void)
{
	test_pool_growth();
	test_sent_not_kept();
	test_same_commands();
	test_untrusted();
	test_local_activity();
	test_many_locals();
	printf("%d checks, %d failed\n", check_run, check_failed);
	return check_failed ? 1 : 0;
}
