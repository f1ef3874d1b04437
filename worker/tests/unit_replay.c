/* Unit tests of the replay engine, fed with hand-built histories. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "replay.h"

/* History builder --------------------------------------------------------- */

typedef struct {
	json_t *events;
	int64_t next;
	int64_t started;   /* the last WorkflowTaskStarted */
} hist_t;

static int64_t ev(hist_t *h, const char *type, json_t *attrs)
{
	char when[64];
	int64_t id = ++h->next;
	/* one second per event, so durable_now() is checkable */
	snprintf(when, sizeof(when), "2026-01-01T00:%02lld:%02lld.000000+00:00", (long long)(id / 60),
		 (long long)(id % 60));
	json_array_append_new(h->events, json_pack("{s:I, s:s, s:s, s:o}", "event_id", (json_int_t)id,
						   "event_type", type, "event_time", when, "attributes",
						   attrs ? attrs : json_object()));
	return id;
}

static int64_t task(hist_t *h)
{
	int64_t s = ev(h, "WorkflowTaskScheduled", NULL);
	return h->started = ev(h, "WorkflowTaskStarted", json_pack("{s:I}", "scheduled_event_id", (json_int_t)s));
}

static void start(hist_t *h, json_t *input)
{
	h->events = json_array();
	h->next = 0;
	ev(h, "WorkflowExecutionStarted", json_pack("{s:s, s:o}", "workflow_type", "T", "input",
						    input ? input : json_null()));
	task(h);
}

static int64_t done(hist_t *h)
{
	return ev(h, "WorkflowTaskCompleted", json_pack("{s:I}", "started_event_id", (json_int_t)h->started));
}

static int64_t scheduled(hist_t *h, int64_t wtc, const char *id, const char *type)
{
	return ev(h, "ActivityTaskScheduled", json_pack("{s:s, s:s, s:I}", "activity_id", id, "activity_type", type,
							"workflow_task_completed_event_id", (json_int_t)wtc));
}

static int64_t timer(hist_t *h, int64_t wtc, const char *id)
{
	return ev(h, "TimerStarted", json_pack("{s:s, s:I}", "timer_id", id, "workflow_task_completed_event_id",
					       (json_int_t)wtc));
}

static void act_done(hist_t *h, int64_t sched, json_t *result)
{
	ev(h, "ActivityTaskStarted", json_pack("{s:I}", "scheduled_event_id", (json_int_t)sched));
	ev(h, "ActivityTaskCompleted", json_pack("{s:I, s:o}", "scheduled_event_id", (json_int_t)sched, "result", result));
}

static void act_failed(hist_t *h, int64_t sched, const char *msg)
{
	ev(h, "ActivityTaskFailed", json_pack("{s:I, s:{s:s, s:s}}", "scheduled_event_id", (json_int_t)sched,
					      "failure", "message", msg, "type", "Boom"));
}

static void fired(hist_t *h, int64_t started, const char *id)
{
	ev(h, "TimerFired", json_pack("{s:s, s:I}", "timer_id", id, "started_event_id", (json_int_t)started));
}

static void signal(hist_t *h, const char *name, json_t *input)
{
	ev(h, "WorkflowExecutionSignaled", json_pack("{s:s, s:o}", "signal_name", name, "input", input));
}

/* Running and inspecting -------------------------------------------------- */

static durable__outcome_t out;

static void run_q(hist_t *h, durable_workflow_fn fn, const char *query)
{
	durable__task_t t = {.workflow_id = "wf-1", .run_id = "11111111-2222-3333-4444-555555555555",
			     .workflow_type = "T", .history = h->events,
			     .started_event_id = query ? 0 : h->started, .query_type = query};
	durable__outcome_free(&out);
	int rc = durable__replay(fn, &t, &out);
	CHECK(rc == 0, "replay returned %d", rc);
}

static void run(hist_t *h, durable_workflow_fn fn)
{
	run_q(h, fn, NULL);
}

static size_t ncmds(void)
{
	return out.kind == DURABLE__COMPLETE ? json_array_size(out.commands) : (size_t)-1;
}

static const char *cmd_type(size_t i)
{
	const char *t = json_string_value(json_object_get(json_array_get(out.commands, i), "type"));
	return t ? t : "(none)";
}

static const char *cmd_str(size_t i, const char *key)
{
	const char *s = json_string_value(json_object_get(json_array_get(out.commands, i), key));
	return s ? s : "(none)";
}

static const char *fail_msg(void)
{
	const char *m = json_string_value(json_object_get(out.failure, "message"));
	return m ? m : "(none)";
}

/* Workflows under test ------------------------------------------------------ */

static int wf_one_activity(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "charge", input, NULL, &r));
	*output = durable_json(ctx, "{s:O}", "charged", r);
	return 0;
}

static int wf_refund_instead(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	DURABLE_TRY(durable_activity(ctx, "refund", NULL, NULL, NULL));
	return 0;
}

static int wf_nothing(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)ctx;
	(void)input;
	*output = durable_json(ctx, "s", "done");
	return 0;
}

static void test_activity(void)
{
	hist_t h;
	start(&h, json_integer(7));
	run(&h, wf_one_activity);
	CHECK(ncmds() == 1, "got %zu commands", ncmds());
	CHECK(strcmp(cmd_type(0), "ScheduleActivityTask") == 0, "got %s", cmd_type(0));
	CHECK(strcmp(cmd_str(0, "activity_type"), "charge") == 0, "got %s", cmd_str(0, "activity_type"));
	CHECK(strcmp(cmd_str(0, "activity_id"), "1") == 0, "got %s", cmd_str(0, "activity_id"));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "input")) == 7, "input kept");
	CHECK(json_real_value(json_object_get(json_array_get(out.commands, 0), "start_to_close_timeout")) == 300,
	      "default start_to_close_timeout");

	int64_t wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "charge");
	act_done(&h, s, json_integer(99));
	task(&h);
	run(&h, wf_one_activity);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "result"),
						 "charged")) == 99, "result carries the activity's result");
	json_decref(h.events);

	start(&h, NULL);
	wtc = done(&h);
	s = scheduled(&h, wtc, "1", "charge");
	act_failed(&h, s, "card declined");
	task(&h);
	run(&h, wf_one_activity);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "FailWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "failure"),
						       "message")), "card declined") == 0, "the activity's failure");
	json_decref(h.events);
}

/* The input is changed after the start, and the activity started again
 * with it: each command holds the input as it was when it was started. */
static int wf_changed_input(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *in = durable_keep(ctx, json_pack("{s:i, s:[i]}", "n", 1, "list", 1));
	durable_future_t *f[2];
	(void)input;
	(void)output;
	DURABLE_TRY(durable_activity_start(ctx, "a", in, NULL, &f[0]));
	json_object_set_new(in, "n", json_integer(2));
	json_array_append_new(json_object_get(in, "list"), json_integer(2));
	DURABLE_TRY(durable_activity_start(ctx, "b", in, NULL, &f[1]));
	json_object_set_new(in, "n", json_integer(3));
	return durable_wait_all(ctx, f, 2);
}

static void test_input_copied(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_changed_input);
	char *a = ncmds() == 2 ? json_dumps(json_object_get(json_array_get(out.commands, 0), "input"), JSON_COMPACT) : NULL,
	     *b = ncmds() == 2 ? json_dumps(json_object_get(json_array_get(out.commands, 1), "input"), JSON_COMPACT) : NULL;
	CHECK(a && strcmp(a, "{\"n\":1,\"list\":[1]}") == 0, "the first start sends the input as it was: %s", a);
	CHECK(b && strcmp(b, "{\"n\":2,\"list\":[1,2]}") == 0, "the second, as it was then: %s", b);
	free(a);
	free(b);
	/* replayed, the starts match their events and nothing is sent again */
	int64_t wtc = done(&h);
	scheduled(&h, wtc, "1", "a");
	scheduled(&h, wtc, "2", "b");
	task(&h);
	run(&h, wf_changed_input);
	CHECK(ncmds() == 0, "replayed starts send nothing: %zu", ncmds());
	json_decref(h.events);
}

static void test_nondeterminism(void)
{
	hist_t h;
	start(&h, NULL);
	int64_t wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "charge");
	act_done(&h, s, json_integer(1));
	task(&h);
	run(&h, wf_refund_instead);
	CHECK(out.kind == DURABLE__FAIL_TASK, "kind %d", out.kind);
	CHECK(strcmp(out.cause, "NON_DETERMINISTIC_ERROR") == 0, "cause %s", out.cause);
	CHECK(strstr(fail_msg(), "event 5") && strstr(fail_msg(), "refund") && strstr(fail_msg(), "charge"),
	      "message names the event and both commands: %s", fail_msg());

	/* the code no longer issues a recorded command */
	run(&h, wf_nothing);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "event 5"), "got %s", fail_msg());
	json_decref(h.events);

	/* a command that the history does not have at that task */
	start(&h, NULL);
	done(&h);
	task(&h);
	run(&h, wf_one_activity);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "fewer commands"), "got %s", fail_msg());
	json_decref(h.events);
}

/* A replayed start is matched with its event by strings, without the
 * command being built (workflow.c's match_t): the messages name both as
 * before, a recorded key that is not a string never matches (as
 * json_equal had it), and a type jansson would refuse is -ENOMEM, as
 * when the command was built. */
static const char *start_type = "charge";
static int start_rc;
static const char *child_id = "kid-1";
static int child_rc;

static int wf_start_three(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *f;
	(void)input;
	(void)output;
	start_rc = durable_activity_start(ctx, start_type, NULL, NULL, &f);
	DURABLE_TRY(start_rc);
	DURABLE_TRY(durable_timer_start(ctx, 5, &f));
	child_rc = durable_child_start(ctx, "Kid", NULL, &(durable_child_options_t){.workflow_id = child_id}, &f);
	DURABLE_TRY(child_rc);
	return durable_future_get(ctx, f, NULL);
}

/* A history whose first task recorded the three starts, with these keys. */
static void three(hist_t *h, json_t *activity_id, const char *timer_id, const char *child_type,
		  const char *child_wf_id, int64_t wtc_shift)
{
	start(h, NULL);
	int64_t wtc = done(h) + wtc_shift;
	ev(h, "ActivityTaskScheduled", json_pack("{s:o, s:s, s:I}", "activity_id", activity_id, "activity_type",
						  "charge", "workflow_task_completed_event_id", (json_int_t)wtc));
	timer(h, wtc, timer_id);
	ev(h, "StartChildWorkflowExecutionInitiated",
	   json_pack("{s:s, s:s, s:I}", "workflow_id", child_wf_id, "workflow_type", child_type,
		     "workflow_task_completed_event_id", (json_int_t)wtc));
	task(h);
}

static void test_replay_match(void)
{
	hist_t h;
	three(&h, json_string("1"), "t2", "Kid", "kid-1", 0);
	run(&h, wf_start_three);
	CHECK(ncmds() == 0, "all three matched, nothing sent: kind %d %s", out.kind,
	      out.kind == DURABLE__FAIL_TASK ? fail_msg() : "");
	start_type = "refund";
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 5: the history has ActivityTaskScheduled(charge) where the workflow now issues "
				 "ScheduleActivityTask(refund)") == 0, "another activity type: %s", fail_msg());
	start_type = "charge";
	json_decref(h.events);

	three(&h, json_string("7"), "t2", "Kid", "kid-1", 0);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 5: the history has ActivityTaskScheduled(charge) where the workflow now issues "
				 "ScheduleActivityTask(charge)") == 0, "another activity id: %s", fail_msg());
	json_decref(h.events);
	three(&h, json_integer(1), "t2", "Kid", "kid-1", 0);
	run(&h, wf_start_three);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "event 5: the history has") == fail_msg(),
	      "an activity id recorded as a number is not the string \"1\": %s", fail_msg());
	json_decref(h.events);

	three(&h, json_string("1"), "t9", "Kid", "kid-1", 0);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 6: the history has TimerStarted(t9) where the workflow now issues "
				 "StartTimer(t2)") == 0, "another timer id: %s", fail_msg());
	json_decref(h.events);

	three(&h, json_string("1"), "t2", "Other", "kid-1", 0);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 7: the history has StartChildWorkflowExecutionInitiated(Other) where the "
				 "workflow now issues StartChildWorkflowExecution(Kid)") == 0, "another child type: %s",
	      fail_msg());
	json_decref(h.events);

	three(&h, json_string("1"), "t2", "Kid", "kid-2", 0);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 7: the history has StartChildWorkflowExecutionInitiated(Kid) where the "
				 "workflow now issues StartChildWorkflowExecution(Kid)") == 0, "another child id: %s",
	      fail_msg());
	json_decref(h.events);

	three(&h, json_string("1"), "t2", "Kid", "kid-1", 3);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "event 5: ScheduleActivityTask(charge) was recorded by the workflow task completed at "
				 "event 7, but the workflow now issues it in the one completed at event 4") == 0,
	      "recorded by another task: %s", fail_msg());
	json_decref(h.events);

	/* only the activity recorded: the timer is one more than the task recorded */
	start(&h, NULL);
	scheduled(&h, done(&h), "1", "charge");
	task(&h);
	run(&h, wf_start_three);
	CHECK(strcmp(fail_msg(), "workflow task completed at event 4 recorded fewer commands than the workflow issues "
				 "now: StartTimer(t2) is new") == 0, "fewer commands: %s", fail_msg());
	json_decref(h.events);

	three(&h, json_string("1"), "t2", "Kid", "kid-1", 0);
	start_type = "\xff";
	run(&h, wf_start_three);
	CHECK(start_rc == -ENOMEM, "a type that is not UTF-8: %d, as json_string's refusal was", start_rc);
	start_type = "charge";
	child_id = "kid-\xff";
	run(&h, wf_start_three);
	CHECK(child_rc == -ENOMEM, "a child id that is not UTF-8: %d, as json_pack's refusal was", child_rc);
	child_id = "kid-1";
	json_decref(h.events);
}

static int wf_sleep_twice(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	int64_t t0 = durable_now(ctx);
	DURABLE_TRY(durable_sleep(ctx, 30 * 86400));
	DURABLE_TRY(durable_sleep(ctx, 60));
	*output = durable_json(ctx, "I", (json_int_t)(durable_now(ctx) - t0));
	return 0;
}

static void test_timers_and_now(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_sleep_twice);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "StartTimer") == 0, "got %s", cmd_type(0));
	CHECK(json_real_value(json_object_get(json_array_get(out.commands, 0), "start_to_fire_timeout")) == 30 * 86400,
	      "30 days");
	int64_t wtc = done(&h);
	int64_t t1 = timer(&h, wtc, "t1");
	fired(&h, t1, "t1");
	task(&h);
	run(&h, wf_sleep_twice);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "timer_id"), "t2") == 0, "got %s", cmd_str(0, "timer_id"));
	wtc = done(&h);
	int64_t t2 = timer(&h, wtc, "t2");
	fired(&h, t2, "t2");
	task(&h);   /* WorkflowTaskStarted is event 13; the first task started at 3 */
	run(&h, wf_sleep_twice);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")) == 10000,
	      "durable_now moved from the first task's start to the last one's: %lld",
	      (long long)json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")));
	json_decref(h.events);
}

static int wf_fan_out(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_future_t *f[3];
	for (int i = 0; i < 3; i++)
		DURABLE_TRY(durable_activity_start(ctx, "fetch", durable_json(ctx, "I", (json_int_t)i), NULL, &f[i]));
	DURABLE_TRY(durable_wait_all(ctx, f, 3));
	json_int_t sum = 0;
	for (int i = 0; i < 3; i++) {
		json_t *r;
		DURABLE_TRY(durable_future_get(ctx, f[i], &r));
		sum += json_integer_value(r);
	}
	*output = durable_json(ctx, "I", sum);
	return 0;
}

static int wf_race(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_future_t *f[2];
	size_t which;
	DURABLE_TRY(durable_activity_start(ctx, "slow", NULL, NULL, &f[0]));
	DURABLE_TRY(durable_timer_start(ctx, 10, &f[1]));
	DURABLE_TRY(durable_wait_any(ctx, f, 2, &which));
	if (which == 1)
		DURABLE_TRY(durable_future_cancel(ctx, f[0]));
	else
		DURABLE_TRY(durable_future_cancel(ctx, f[1]));
	*output = durable_json(ctx, "I", (json_int_t)which);
	return 0;
}

static void test_futures(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_fan_out);
	CHECK(ncmds() == 3, "three activities at once: %zu", ncmds());
	CHECK(strcmp(cmd_str(2, "activity_id"), "3") == 0, "ids by call order: %s", cmd_str(2, "activity_id"));
	int64_t wtc = done(&h);
	int64_t s1 = scheduled(&h, wtc, "1", "fetch");
	int64_t s2 = scheduled(&h, wtc, "2", "fetch");
	int64_t s3 = scheduled(&h, wtc, "3", "fetch");
	act_done(&h, s2, json_integer(20));
	act_done(&h, s1, json_integer(10));
	task(&h);
	run(&h, wf_fan_out);
	CHECK(ncmds() == 0, "still waiting for the third: %zu", ncmds());
	done(&h);
	act_done(&h, s3, json_integer(30));
	task(&h);
	run(&h, wf_fan_out);
	CHECK(ncmds() == 1 && json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")) == 60,
	      "sum of all three");
	json_decref(h.events);

	/* wait_any: the timer fires first, the activity is canceled */
	start(&h, NULL);
	run(&h, wf_race);
	CHECK(ncmds() == 2 && strcmp(cmd_type(1), "StartTimer") == 0, "activity and timer: %zu", ncmds());
	wtc = done(&h);
	int64_t sa = scheduled(&h, wtc, "1", "slow");
	int64_t st = timer(&h, wtc, "t2");
	fired(&h, st, "t2");
	task(&h);
	run(&h, wf_race);
	CHECK(ncmds() == 2, "cancel + complete: %zu", ncmds());
	CHECK(strcmp(cmd_type(0), "RequestCancelActivityTask") == 0, "got %s", cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "scheduled_event_id")) == sa,
	      "cancels the scheduled event");
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 1), "result")) == 1, "timer won");
	/* a later replay where the activity also completed, after the timer: same answer, no new cancel */
	done(&h);
	act_done(&h, sa, json_integer(5));
	task(&h);
	run(&h, wf_race);
	CHECK(ncmds() == 1 && json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")) == 1,
	      "replay keeps the timer as winner");
	json_decref(h.events);
}

static int wf_review(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *decision;
	int rc = durable_await_signal(ctx, "review_decision", 3 * 86400, &decision);
	if (rc == DURABLE_ETIMEDOUT) {
		*output = durable_json(ctx, "s", "expired");
		return 0;
	}
	DURABLE_TRY(rc);
	*output = decision;
	return 0;
}

static int wf_peek_then_sleep(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	json_t *p;
	const char *which = durable_signal_receive(ctx, "go", &p) == 0 ? "fast" : "slow";
	DURABLE_TRY(durable_activity(ctx, which, NULL, NULL, NULL));
	return 0;
}

static void test_signals(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_review);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "StartTimer") == 0, "timeout timer: %s", cmd_type(0));
	int64_t wtc = done(&h);
	int64_t t = timer(&h, wtc, "t1");
	signal(&h, "other", json_integer(1));
	signal(&h, "review_decision", json_string("approved"));
	task(&h);
	run(&h, wf_review);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "CancelTimer") == 0, "cancel the timer: %s", cmd_type(0));
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(out.commands, 1), "result")), "approved") == 0,
	      "the decision is the result");
	json_decref(h.events);

	start(&h, NULL);
	wtc = done(&h);
	t = timer(&h, wtc, "t1");
	fired(&h, t, "t1");
	task(&h);
	run(&h, wf_review);
	CHECK(ncmds() == 1 && strcmp(json_string_value(json_object_get(json_array_get(out.commands, 0), "result")),
				     "expired") == 0, "timeout path");
	json_decref(h.events);

	/* a signal already there at the first task: no timer at all */
	h.events = json_array();
	h.next = 0;
	ev(&h, "WorkflowExecutionStarted", json_pack("{s:n}", "input"));
	signal(&h, "review_decision", json_string("rejected"));
	task(&h);
	run(&h, wf_review);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0, "got %s", cmd_type(0));
	json_decref(h.events);

	/* a signal that arrived after the first task does not change what it decided */
	start(&h, NULL);
	run(&h, wf_peek_then_sleep);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "activity_type"), "slow") == 0, "got %s", cmd_str(0, "activity_type"));
	wtc = done(&h);
	scheduled(&h, wtc, "1", "slow");
	signal(&h, "go", json_true());
	task(&h);
	run(&h, wf_peek_then_sleep);
	CHECK(out.kind == DURABLE__COMPLETE && ncmds() == 0, "replay stays on the slow path (kind %d, %s)", out.kind,
	      out.kind == DURABLE__FAIL_TASK ? fail_msg() : "");
	json_decref(h.events);
}

static int wf_saga(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	int rc = durable_activity(ctx, "ship", NULL, NULL, NULL);
	if (rc == DURABLE_ECANCELED && durable_cancel_requested(ctx)) {
		DURABLE_TRY(durable_activity(ctx, "refund", NULL, NULL, NULL));
		return DURABLE_ECANCELED;
	}
	return rc;
}

static void test_cancellation(void)
{
	hist_t h;
	start(&h, NULL);
	int64_t wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "ship");
	ev(&h, "WorkflowExecutionCancelRequested", json_pack("{s:s}", "cause", "user"));
	task(&h);
	run(&h, wf_saga);
	CHECK(ncmds() == 2, "cancel ship, schedule refund: %zu", ncmds());
	CHECK(strcmp(cmd_type(0), "RequestCancelActivityTask") == 0, "got %s", cmd_type(0));
	CHECK(strcmp(cmd_str(1, "activity_type"), "refund") == 0, "got %s", cmd_str(1, "activity_type"));
	wtc = done(&h);
	ev(&h, "ActivityTaskCancelRequested", json_pack("{s:I}", "scheduled_event_id", (json_int_t)s));
	int64_t r = scheduled(&h, wtc, "2", "refund");
	act_done(&h, r, json_null());
	task(&h);
	run(&h, wf_saga);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CancelWorkflowExecution") == 0, "got %s", cmd_type(0));
	json_decref(h.events);
}

/* durable_saga: compensations newest first, shielded from a cancel that
 * arrives while they run, and a failed one reported with the others run. */
static int wf_saga_helper(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_saga_t *saga = durable_saga(ctx);
	json_t *release_input = durable_json(ctx, "{s:s}", "lot", "r-1");
	int rc = durable_activity(ctx, "reserve", input, NULL, NULL);
	if (rc == 0 && (rc = durable_saga_add(saga, "release", release_input, NULL)) == 0)
		rc = durable_activity(ctx, "charge", NULL, NULL, NULL);
	json_object_set_new(release_input, "lot", json_string("changed"));   /* after: the copy counts */
	if (rc == 0 && (rc = durable_saga_add(saga, "refund", NULL, NULL)) == 0)
		rc = durable_activity(ctx, "ship", NULL, NULL, NULL);
	if (rc == 0) {
		*output = durable_json(ctx, "s", "shipped");
		return 0;
	}
	return durable_saga_compensate(saga, rc);
}

/* The history up to ship failing: reserve (1), charge (2), ship (3). */
static int64_t saga_until_ship_fails(hist_t *h)
{
	start(h, NULL);
	int64_t wtc = done(h);
	act_done(h, scheduled(h, wtc, "1", "reserve"), json_null());
	task(h);
	wtc = done(h);
	act_done(h, scheduled(h, wtc, "2", "charge"), json_null());
	task(h);
	wtc = done(h);
	act_failed(h, scheduled(h, wtc, "3", "ship"), "no truck");
	return task(h);
}

static void test_saga_helper(void)
{
	hist_t h;
	saga_until_ship_fails(&h);
	run(&h, wf_saga_helper);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "activity_type"), "refund") == 0, "the newest compensation first: %s",
	      cmd_str(0, "activity_type"));
	int64_t wtc = done(&h);
	int64_t refund = scheduled(&h, wtc, "4", "refund");
	ev(&h, "WorkflowExecutionCancelRequested", json_pack("{s:s}", "cause", "user"));
	task(&h);
	run(&h, wf_saga_helper);
	CHECK(ncmds() == 0, "a cancel during compensation neither cancels nor abandons it: %zu commands, first %s",
	      ncmds(), ncmds() ? cmd_type(0) : "");
	wtc = done(&h);
	act_done(&h, refund, json_null());
	task(&h);
	run(&h, wf_saga_helper);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "activity_type"), "release") == 0, "then the older one: %s",
	      cmd_str(0, "activity_type"));
	json_t *in = json_object_get(json_array_get(out.commands, 0), "input");
	CHECK(strcmp(json_string_value(json_object_get(in, "lot")) ?: "", "r-1") == 0,
	      "with its input as it was when added");
	wtc = done(&h);
	act_done(&h, scheduled(&h, wtc, "5", "release"), json_null());
	task(&h);
	run(&h, wf_saga_helper);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CancelWorkflowExecution") == 0,
	      "compensated, the canceled workflow closes CANCELED: %s", cmd_type(0));
	json_decref(h.events);

	/* Not canceled, and the refund fails for good: release still runs, and
	 * the workflow fails with CompensationFailed caused by the ship failure. */
	saga_until_ship_fails(&h);
	wtc = done(&h);
	act_failed(&h, scheduled(&h, wtc, "4", "refund"), "card gone");
	task(&h);
	run(&h, wf_saga_helper);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "activity_type"), "release") == 0,
	      "a failed compensation does not stop the others: %s", cmd_str(0, "activity_type"));
	wtc = done(&h);
	act_done(&h, scheduled(&h, wtc, "5", "release"), json_null());
	task(&h);
	run(&h, wf_saga_helper);
	json_t *failure = json_object_get(json_array_get(out.commands, 0), "failure");
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "FailWorkflowExecution") == 0, "fails: %s", cmd_type(0));
	CHECK(strcmp(json_string_value(json_object_get(failure, "type")) ?: "", "CompensationFailed") == 0 &&
		      strcmp(json_string_value(json_object_get(failure, "message")) ?: "",
			     "compensation refund failed: card gone") == 0 &&
		      strcmp(json_string_value(json_object_get(json_object_get(failure, "cause"), "message")) ?: "",
			     "no truck") == 0,
	      "as CompensationFailed, caused by the step's failure");
	json_decref(h.events);

	/* Compensated without trouble: the workflow fails with the step's failure. */
	saga_until_ship_fails(&h);
	wtc = done(&h);
	act_done(&h, scheduled(&h, wtc, "4", "refund"), json_null());
	wtc = 0;
	task(&h);
	wtc = done(&h);
	act_done(&h, scheduled(&h, wtc, "5", "release"), json_null());
	task(&h);
	run(&h, wf_saga_helper);
	failure = json_object_get(json_array_get(out.commands, 0), "failure");
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "FailWorkflowExecution") == 0 &&
		      strcmp(json_string_value(json_object_get(failure, "message")) ?: "", "no truck") == 0,
	      "fails with the step's failure: %s", cmd_type(0));
	json_decref(h.events);
}

static int wf_versioned(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	int v;
	DURABLE_TRY(durable_get_version(ctx, "use-new-charge", DURABLE_DEFAULT_VERSION, 1, &v));
	DURABLE_TRY(durable_activity(ctx, v == 1 ? "charge_v2" : "charge", NULL, NULL, NULL));
	return 0;
}

static json_t *pick(durable_ctx_t *ctx, void *arg)
{
	(*(int *)arg)++;
	return durable_json(ctx, "i", 42);
}

static int called;
static int wf_side_effect(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *v;
	char id[37];
	DURABLE_TRY(durable_side_effect(ctx, pick, &called, &v));
	durable_uuid(ctx, id);
	DURABLE_TRY(durable_sleep(ctx, 1));
	*output = durable_json(ctx, "{s:O, s:s, s:I}", "v", v, "uuid", id, "rand", (json_int_t)(durable_random(ctx) % 1000));
	return 0;
}

/* The store records the task's first n commands, side effect markers with
 * the details sent, and its timer timer_id, which fires: the next task. */
static void record_markers(hist_t *h, size_t n, const char *timer_id)
{
	int64_t wtc = done(h);
	for (size_t i = 0; i < n; i++)
		ev(h, "MarkerRecorded", json_pack("{s:s, s:O, s:I}", "marker_name", "SideEffect", "details",
						  json_object_get(json_array_get(out.commands, i), "details"),
						  "workflow_task_completed_event_id", (json_int_t)wtc));
	int64_t t = timer(h, wtc, timer_id);
	fired(h, t, timer_id);
	task(h);
}

static void test_markers(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_versioned);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RecordMarker") == 0, "version marker first: %s", cmd_type(0));
	CHECK(strcmp(cmd_str(1, "activity_type"), "charge_v2") == 0, "new code path: %s", cmd_str(1, "activity_type"));
	json_decref(h.events);

	/* an old history, recorded before the change: no marker, old path */
	start(&h, NULL);
	int64_t wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "charge");
	act_done(&h, s, json_null());
	task(&h);
	run(&h, wf_versioned);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0, "old path replays: kind %d %s",
	      out.kind, out.kind == DURABLE__FAIL_TASK ? fail_msg() : cmd_type(0));
	json_decref(h.events);

	start(&h, NULL);
	run(&h, wf_side_effect);
	CHECK(called == 1 && ncmds() == 2, "side effect ran once and was recorded: %d %zu", called, ncmds());
	json_t *details = json_object_get(json_array_get(out.commands, 0), "details");
	CHECK(json_integer_value(json_object_get(details, "value")) == 42, "marker holds the value");
	record_markers(&h, 1, "t2");
	run(&h, wf_side_effect);
	CHECK(called == 1, "not run again on replay: %d", called);
	json_t *res = json_object_get(json_array_get(out.commands, 0), "result");
	CHECK(json_integer_value(json_object_get(res, "v")) == 42, "recorded value returned");
	CHECK(strlen(json_string_value(json_object_get(res, "uuid")) ?: "") == 36, "uuid has 36 chars");
	char *first = json_dumps(res, JSON_SORT_KEYS);
	run(&h, wf_side_effect);
	char *second = json_dumps(json_object_get(json_array_get(out.commands, 0), "result"), JSON_SORT_KEYS);
	CHECK(first && second && strcmp(first, second) == 0, "uuid and random repeat: %s vs %s", first, second);
	free(first);
	free(second);
	json_decref(h.events);
}

static json_t *new_uuid(durable_ctx_t *ctx, void *arg)
{
	(void)arg;
	char id[37];
	durable_uuid(ctx, id);
	return durable_json(ctx, "s", id);
}

/* two side effects drawing uuids, then the workflow's own */
static char wf_uuid_seen[37];
static int wf_uuids(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *a, *b;
	DURABLE_TRY(durable_side_effect(ctx, new_uuid, NULL, &a));
	DURABLE_TRY(durable_side_effect(ctx, new_uuid, NULL, &b));
	durable_uuid(ctx, wf_uuid_seen);
	DURABLE_TRY(durable_sleep(ctx, 1));
	*output = durable_json(ctx, "{s:O, s:O, s:s}", "a", a, "b", b, "wf", wf_uuid_seen);
	return 0;
}

/* What a side effect's function draws comes from a stream of its own: it
 * neither moves the workflow's sequence (a replay never runs the function)
 * nor repeats what the workflow draws next. */
static void test_side_effect_draws(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_uuids);
	char live_wf[37];
	memcpy(live_wf, wf_uuid_seen, sizeof(live_wf));
	CHECK(ncmds() == 3, "two markers and a timer: %zu", ncmds());
	const char *a = json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "details"), "value"));
	const char *b = json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 1), "details"), "value"));
	CHECK(a && b && strcmp(a, live_wf) != 0 && strcmp(b, live_wf) != 0 && strcmp(a, b) != 0,
	      "the side effects' uuids and the workflow's differ: %s %s %s", a, b, live_wf);
	char live_a[37] = "";
	snprintf(live_a, sizeof(live_a), "%s", a ? a : "");
	record_markers(&h, 2, "t3");
	run(&h, wf_uuids);
	json_t *res = json_object_get(json_array_get(out.commands, 0), "result");
	CHECK(strcmp(json_string_value(json_object_get(res, "wf")) ?: "", live_wf) == 0,
	      "replayed, the workflow draws the same uuid as live: %s vs %s",
	      json_string_value(json_object_get(res, "wf")), live_wf);
	CHECK(strcmp(json_string_value(json_object_get(res, "a")) ?: "", live_a) == 0, "the marker answers the side effect");
	json_decref(h.events);
}

static int wf_child_then_continue(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)output;
	json_t *r;
	DURABLE_TRY(durable_child(ctx, "Child", input, NULL, &r));
	return durable_continue_as_new(ctx, r);
}

static int count_query(durable_ctx_t *ctx, json_t *state, json_t *args, json_t **answer)
{
	*answer = durable_json(ctx, "{s:O, s:O}", "state", state, "args", args ? args : json_null());
	return 0;
}

static int wf_queryable(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	json_t *st = durable_keep(ctx, json_object());
	DURABLE_TRY(durable_set_query_handler(ctx, "progress", count_query, st));
	json_object_set_new(st, "step", json_string("charging"));
	DURABLE_TRY(durable_activity(ctx, "charge", NULL, NULL, NULL));
	json_object_set_new(st, "step", json_string("shipping"));
	DURABLE_TRY(durable_activity(ctx, "ship", NULL, NULL, NULL));
	return 0;
}

static void test_child_continue_query(void)
{
	hist_t h;
	start(&h, json_integer(3));
	run(&h, wf_child_then_continue);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "StartChildWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(strcmp(cmd_str(0, "workflow_id"), "wf-1-child-1") == 0, "child id: %s", cmd_str(0, "workflow_id"));
	int64_t wtc = done(&h);
	int64_t init = ev(&h, "StartChildWorkflowExecutionInitiated",
			  json_pack("{s:s, s:s, s:I}", "workflow_id", "wf-1-child-1", "workflow_type", "Child",
				    "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "ChildWorkflowExecutionStarted", json_pack("{s:I}", "initiated_event_id", (json_int_t)init));
	task(&h);
	run(&h, wf_child_then_continue);
	CHECK(ncmds() == 0, "waits for the child: %zu", ncmds());
	done(&h);
	ev(&h, "ChildWorkflowExecutionCompleted", json_pack("{s:I, s:i}", "initiated_event_id", (json_int_t)init,
							    "result", 4));
	task(&h);
	run(&h, wf_child_then_continue);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "ContinueAsNewWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "input")) == 4, "new input");
	json_decref(h.events);

	start(&h, NULL);
	wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "charge");
	act_done(&h, s, json_null());
	task(&h);
	/* the second task is running (not completed): the query sees all events */
	run_q(&h, wf_queryable, "progress");
	CHECK(out.kind == DURABLE__ANSWER && !out.error, "answered: %s", out.error ? out.error : "");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(out.answer, "state"), "step")) ?: "",
		     "shipping") == 0, "state at the end of the history");
	run_q(&h, wf_queryable, "nope");
	CHECK(out.kind == DURABLE__ANSWER && out.error && strstr(out.error, "unknown query"), "unknown query");
	json_decref(h.events);
}

static void test_failed_tasks_and_unknown(void)
{
	hist_t h;
	start(&h, NULL);
	ev(&h, "WorkflowTaskFailed", json_pack("{s:I, s:s}", "started_event_id", (json_int_t)h.started, "cause",
					       "NON_DETERMINISTIC_ERROR"));
	task(&h);
	ev(&h, "WorkflowTaskTimedOut", json_pack("{s:I}", "started_event_id", (json_int_t)h.started));
	task(&h);
	run(&h, wf_one_activity);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "ScheduleActivityTask") == 0, "failed attempts are skipped: %s",
	      cmd_type(0));
	run(&h, NULL);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "not registered"), "unknown type: %s", fail_msg());
	json_decref(h.events);

	int64_t ms = 0;
	CHECK(durable__parse_time("2026-11-26T08:33:03.5+01:00", &ms) == 0 && ms == 1795678383500LL,
	      "time with offset: %lld", (long long)ms);
	CHECK(durable__parse_time("garbage", &ms) < 0, "bad time refused");
}


/* durable__parse_time's fast path against its general reading (sscanf, as
 * every time was read before the fast path): the same milliseconds, to the
 * rounding of a half millisecond, for every form it takes, and the others
 * left to that reading. */
/* both readings of s, and of every string s cut short (ASan: no read past
 * its end) */
static int same_time(const char *s)
{
	char cut[128];
	size_t len = strlen(s);
	for (size_t n = 0; n <= len && n < sizeof(cut); n++) {
		memcpy(cut, s, n);
		cut[n] = '\0';
		char *own = strdup(cut);   /* exactly n + 1 bytes: ASan sees an overread */
		int64_t a = -1, b = -1;
		int ra = durable__parse_time(own, &a), rb = durable__parse_time_any(own, &b);
		free(own);
		if ((ra < 0) != (rb < 0) || (ra == 0 && a != b)) {
			fprintf(stderr, "parse_time(\"%s\"): %d %lld, sscanf's %d %lld\n", cut, ra, (long long)a, rb,
				(long long)b);
			return 0;
		}
	}
	return 1;
}

static void test_parse_time(void)
{
	static const char *const fixed[] = {
		"2026-11-26T08:33:03.5+01:00", "2026-11-26T08:33:03+00:00", "2026-11-26T08:33:03.123456+00:00",
		"2026-11-26T08:33:03.0005+00:00", "2026-11-26T08:33:03.1235-05:30", "2026-11-26T08:33:03.123500Z",
		"2026-11-26 08:33:03.999999+00", "1970-01-01T00:00:00.000001-12:00", "2000-02-29T23:59:59.9995+14:00",
		"1969-12-31T23:59:59.5+00:00", "2026-11-26T08:33:03.1234567890123+00:00",
		/* left to the general reading: */
		"2026-11-26T08:33:03.12345678901234+00:00", "2026-1-5T1:2:3.5+00:00", "2026-11-26T08:33:03.5+0100",
		" 2026-11-26T08:33:03+00:00", "2026-11-26T08:33:03.5e1+00:00", "2026-11-26T08:33:03.+00:00",
		"2026-11-26T08:33:03 +00:00", "2026-11-26T08:33:03+01:00:00", "+2026-11-26T08:33:03+00:00",
		"12026-11-26T08:33:03+00:00", "2026-11-26T08:33", "garbage", ""};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		CHECK(same_time(fixed[i]), "parse_time as before: %s", fixed[i]);
	/* times around half milliseconds, where a different rounding would show */
	unsigned seed = 15;
	int bad = 0;
	for (int i = 0; i < 20000 && !bad; i++) {
		char s[80], frac[20] = "";
		seed = seed * 1103515245u + 12345u;
		int digits = (int)(seed >> 16) % 14;
		if (digits > 0) {
			long long f = 0;
			for (int k = 0; k < digits; k++) {
				seed = seed * 1103515245u + 12345u;
				f = f * 10 + (k == 3 ? 5 : (seed >> 16) % 10);
			}
			snprintf(frac, sizeof(frac), ".%0*lld", digits, f);
		}
		static const char *const offs[] = {"+00:00", "-05:30", "+14", "Z", "", "+01:00"};
		seed = seed * 1103515245u + 12345u;
		snprintf(s, sizeof(s), "%04u-%02u-%02uT%02u:%02u:%02u%s%s", 1900 + (seed >> 8) % 300, 1 + (seed >> 4) % 12,
			 1 + (seed >> 12) % 28, (seed >> 3) % 24, (seed >> 5) % 60, (seed >> 7) % 60, frac, offs[seed % 6]);
		bad = !same_time(s);
	}
	CHECK(!bad, "20,000 generated times read as before");
}

static int wf_misc(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	json_t *r;
	DURABLE_TRY(durable_signal_external(ctx, "other", "ping", durable_json(ctx, "i", 1)));
	DURABLE_TRY(durable_cancel_external(ctx, "victim"));
	DURABLE_TRY(durable_upsert_search_attributes(ctx, durable_json(ctx, "{s:s}", "stage", "x")));
	int rc = durable_child(ctx, "Kid", NULL, &(durable_child_options_t){.workflow_id = "kid-1"}, &r);
	if (rc == DURABLE_EALREADY)
		return durable_fail(ctx, "KidExists", "child kid-1 already runs");
	return rc;
}

static int wf_bad_version(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	int v;
	DURABLE_TRY(durable_get_version(ctx, "c", 2, 3, &v));   /* dropped support for DEFAULT and 1 */
	return 0;
}

static int wf_wait_forever(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	json_t *p;
	int rc = durable_await_signal(ctx, "never", -1, &p);
	if (rc == DURABLE_ECANCELED)
		return durable_wait_any(ctx, NULL, 0, NULL) == -EINVAL ? DURABLE_ECANCELED : -EIO;
	return rc;
}

static void test_misc_commands(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_misc);
	CHECK(ncmds() == 1, "the signal waits for its outcome: %zu", ncmds());
	CHECK(strcmp(cmd_type(0), "SignalExternalWorkflowExecution") == 0 && strcmp(cmd_str(0, "signal_name"), "ping") == 0,
	      "got %s", cmd_type(0));
	json_decref(h.events);

	/* A history of code built before signals and cancels waited: the four
	 * commands in one task, no outcomes yet. It still replays. */
	start(&h, NULL);
	int64_t wtc = done(&h);
	ev(&h, "SignalExternalWorkflowExecutionInitiated",
	   json_pack("{s:s, s:s, s:I}", "workflow_id", "other", "signal_name", "ping",
		     "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "RequestCancelExternalWorkflowExecutionInitiated",
	   json_pack("{s:s, s:I}", "workflow_id", "victim", "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "UpsertWorkflowSearchAttributes", json_pack("{s:I}", "workflow_task_completed_event_id", (json_int_t)wtc));
	int64_t init = ev(&h, "StartChildWorkflowExecutionInitiated",
			  json_pack("{s:s, s:s, s:I}", "workflow_id", "kid-1", "workflow_type", "Kid",
				    "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "StartChildWorkflowExecutionFailed", json_pack("{s:I, s:s}", "initiated_event_id", (json_int_t)init,
							     "cause", "WORKFLOW_ALREADY_EXISTS"));
	task(&h);
	run(&h, wf_misc);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "FailWorkflowExecution") == 0, "got %s", cmd_type(0));
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "failure"), "type")) ?: "",
		     "KidExists") == 0, "the child could not start");
	json_decref(h.events);

	start(&h, NULL);
	run(&h, wf_bad_version);
	CHECK(out.kind == DURABLE__COMPLETE, "new runs take the newest version");
	done(&h);
	task(&h);
	run(&h, wf_bad_version);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "outside what this code supports"),
	      "an old history below the supported versions fails the task: %s", fail_msg());
	json_decref(h.events);

	start(&h, NULL);
	run(&h, wf_wait_forever);
	CHECK(ncmds() == 0, "waiting forever needs no timer: %zu", ncmds());
	done(&h);
	ev(&h, "WorkflowExecutionCancelRequested", NULL);
	task(&h);
	run(&h, wf_wait_forever);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CancelWorkflowExecution") == 0, "cancel ends the wait: %s",
	      cmd_type(0));
	json_decref(h.events);
}

static int wf_selector(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_future_t *f[2];
	size_t which;
	json_t *r = NULL;
	DURABLE_TRY(durable_activity_start(ctx, "export", NULL, NULL, &f[0]));
	DURABLE_TRY(durable_signal_future(ctx, "stop", &f[1]));
	DURABLE_TRY(durable_wait_any(ctx, f, 2, &which));
	if (which == 1)
		DURABLE_TRY(durable_future_cancel(ctx, f[0]));
	DURABLE_TRY(durable_future_get(ctx, f[which], &r));
	json_t *again;
	int rc = durable_signal_receive(ctx, "stop", &again);   /* the first one was taken */
	*output = durable_json(ctx, "{s:i, s:O*, s:b}", "which", (int)which, "payload", r, "second", rc == 0);
	return 0;
}

static void test_signal_future(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_selector);
	CHECK(ncmds() == 1, "only the activity is a command: %zu", ncmds());
	int64_t wtc = done(&h);
	int64_t s = scheduled(&h, wtc, "1", "export");
	signal(&h, "stop", json_string("now"));
	task(&h);
	run(&h, wf_selector);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RequestCancelActivityTask") == 0, "the signal wins: %s", cmd_type(0));
	json_t *res = json_object_get(json_array_get(out.commands, 1), "result");
	CHECK(json_integer_value(json_object_get(res, "which")) == 1, "index of the signal future");
	CHECK(strcmp(json_string_value(json_object_get(res, "payload")) ?: "", "now") == 0, "its payload");
	CHECK(json_is_false(json_object_get(res, "second")), "the signal was consumed by the future");
	json_decref(h.events);

	/* the activity first, then a signal: the activity wins, the signal stays */
	start(&h, NULL);
	wtc = done(&h);
	s = scheduled(&h, wtc, "1", "export");
	act_done(&h, s, json_integer(5));
	signal(&h, "stop", json_string("late"));
	task(&h);
	run(&h, wf_selector);
	res = json_object_get(json_array_get(out.commands, 0), "result");
	CHECK(ncmds() == 1 && json_integer_value(json_object_get(res, "which")) == 0, "earliest event wins");
	CHECK(json_is_true(json_object_get(res, "second")), "the signal is left for others");
	json_decref(h.events);
}

static int wf_child_id(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	durable_future_t *f;
	durable_child_options_t o = {.workflow_id = durable_child_id(ctx, "kyc-%d", 3)};
	DURABLE_TRY(durable_child_start(ctx, "Kyc", NULL, &o, &f));
	return durable_future_get(ctx, f, NULL);
}

static void test_child_id(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_child_id);
	CHECK(ncmds() == 1 && strcmp(cmd_str(0, "workflow_id"), "wf-1-kyc-3") == 0, "durable_child_id: %s",
	      cmd_str(0, "workflow_id"));
	json_decref(h.events);
}

/* Updates ------------------------------------------------------------------ */

static int no_negatives(json_t *state, json_t *args, char *reason, size_t size)
{
	(void)state;
	if (json_integer_value(args) >= 0)
		return 0;
	snprintf(reason, size, "negative: %lld", (long long)json_integer_value(args));
	return -EINVAL;
}

/* Takes update "add" (validated), completes it with its args doubled; a
 * signal "skip" taken meanwhile must not be mistaken for an update. */
static int wf_update(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	const char *id;
	json_t *args, *sig;
	DURABLE_TRY(durable_set_update_handler(ctx, "add", no_negatives, NULL));
	DURABLE_TRY(durable_set_query_value(ctx, "add", durable_json(ctx, "s", "a query of the same name")));
	DURABLE_TRY(durable_await_update(ctx, "add", -1, &id, &args));
	int rc = durable_signal_receive(ctx, "add", &sig);
	DURABLE_TRY(durable_complete_update(ctx, id, durable_json(ctx, "I", 2 * json_integer_value(args))));
	*output = durable_json(ctx, "{s:s, s:b}", "id", id, "signal", rc == 0);
	return 0;
}

static void accepted(hist_t *h, const char *id, json_t *input)
{
	ev(h, "WorkflowExecutionUpdateAccepted", json_pack("{s:s, s:s, s:o}", "update_id", id, "update_name", "add",
							   "input", input));
}

static void run_update(hist_t *h, const char *name, json_t *args)
{
	json_t *qa = json_pack("{s:s, s:s, s:o}", "update_id", "v", "name", name, "args", args);
	durable__task_t t = {.workflow_id = "wf-1", .run_id = "r", .workflow_type = "T", .history = h->events,
			     .query_type = DURABLE__UPDATE_QUERY, .query_args = qa};
	durable__outcome_free(&out);
	CHECK(durable__replay(wf_update, &t, &out) == 0, "replay");
	json_decref(qa);
}

static void test_updates(void)
{
	hist_t h;
	start(&h, NULL);
	run(&h, wf_update);
	CHECK(ncmds() == 0, "waiting for an update: no commands (%zu)", ncmds());

	run_update(&h, "add", json_integer(3));
	CHECK(out.kind == DURABLE__ANSWER && json_is_true(json_object_get(out.answer, "accepted")), "validator accepts 3");
	run_update(&h, "add", json_integer(-1));
	CHECK(json_is_false(json_object_get(out.answer, "accepted")) &&
		      strcmp(json_string_value(json_object_get(out.answer, "reason")) ?: "", "negative: -1") == 0,
	      "validator rejects -1 with its reason");
	run_update(&h, "remove", json_integer(1));
	CHECK(json_is_false(json_object_get(out.answer, "accepted")) &&
		      strstr(json_string_value(json_object_get(out.answer, "reason")) ?: "", "no update \"remove\""),
	      "an update with no handler is rejected");
	run_q(&h, wf_update, "add");
	CHECK(out.kind == DURABLE__ANSWER && json_is_string(out.answer), "a query of the same name stays a query");

	int64_t wtc = done(&h);
	(void)wtc;
	signal(&h, "add", json_integer(100));   /* a signal called add is not an update */
	accepted(&h, "u-1", json_integer(21));
	task(&h);
	run(&h, wf_update);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "CompleteWorkflowUpdate") == 0 && strcmp(cmd_str(0, "update_id"), "u-1") == 0,
	      "the update is completed: %s", cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")) == 42, "with its result");
	json_t *res = json_object_get(json_array_get(out.commands, 1), "result");
	CHECK(json_is_true(json_object_get(res, "signal")), "the signal of the same name is still there");

	/* replayed: the recorded completion matches by update id */
	wtc = done(&h);
	ev(&h, "WorkflowExecutionUpdateCompleted", json_pack("{s:s, s:i, s:I}", "update_id", "u-1", "result", 42,
							      "workflow_task_completed_event_id", (json_int_t)wtc));
	json_t *snapshot = json_deep_copy(h.events);
	task(&h);
	run(&h, wf_update);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0, "replays: %s", cmd_type(0));

	/* a history whose update id differs is not this code's */
	json_decref(h.events);
	h.events = snapshot;
	json_t *last = json_array_get(h.events, json_array_size(h.events) - 1);
	json_object_set_new(json_object_get(last, "attributes"), "update_id", json_string("u-other"));
	task(&h);
	run(&h, wf_update);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "WorkflowExecutionUpdateCompleted(u-other)"),
	      "another update id is non-deterministic: %s", fail_msg());
	json_decref(h.events);
}

/* Cancellation types and signals to other workflows ------------------------ */

/* Starts an activity (input "child": false) or a child with the cancellation
 * type input "type", waits for it or signal "stop", cancels it on "stop" and
 * returns {"rc", "result"} of the future after the cancel. */
static int wf_cancel_type(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_cancellation_type_t ct = (durable_cancellation_type_t)json_integer_value(json_object_get(input, "type"));
	durable_future_t *f[2];
	size_t which;
	json_t *r = NULL;
	if (json_is_true(json_object_get(input, "child"))) {
		durable_child_options_t o = {.workflow_id = "kid", .cancellation_type = ct};
		DURABLE_TRY(durable_child_start(ctx, "Kid", NULL, &o, &f[0]));
	} else {
		durable_activity_options_t o = {.start_to_close_timeout = 60, .cancellation_type = ct};
		DURABLE_TRY(durable_activity_start(ctx, "export", NULL, &o, &f[0]));
	}
	DURABLE_TRY(durable_signal_future(ctx, "stop", &f[1]));
	DURABLE_TRY(durable_wait_any(ctx, f, 2, &which));
	if (which == 1)
		DURABLE_TRY(durable_future_cancel(ctx, f[0]));
	int rc = durable_future_get(ctx, f[0], &r);
	if (DURABLE_STOPPED(rc))
		return rc;
	*output = durable_json(ctx, "{s:i, s:O*}", "rc", rc, "result", r);
	return 0;
}

static int result_rc(size_t i)
{
	return (int)json_integer_value(json_object_get(json_object_get(json_array_get(out.commands, i), "result"), "rc"));
}

/* The first task's history of wf_cancel_type, then "stop": returns the
 * scheduled/initiated event id. */
static int64_t started_then_stopped(hist_t *h, int ct, int child)
{
	start(h, json_pack("{s:i, s:b}", "type", ct, "child", child));
	int64_t wtc = done(h);
	int64_t id;
	if (child) {
		id = ev(h, "StartChildWorkflowExecutionInitiated",
			json_pack("{s:s, s:s, s:I}", "workflow_id", "kid", "workflow_type", "Kid",
				  "workflow_task_completed_event_id", (json_int_t)wtc));
		ev(h, "ChildWorkflowExecutionStarted", json_pack("{s:s, s:I}", "workflow_id", "kid", "initiated_event_id",
								 (json_int_t)id));
	} else {
		id = scheduled(h, wtc, "1", "export");
	}
	signal(h, "stop", json_null());
	task(h);
	return id;
}

static void test_cancellation_types(void)
{
	hist_t h;
	/* activities: TRY_CANCEL is the default, and resolves at once */
	int64_t s = started_then_stopped(&h, DURABLE_CANCEL_DEFAULT, 0);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RequestCancelActivityTask") == 0, "try-cancel asks: %s", cmd_type(0));
	CHECK(result_rc(1) == DURABLE_ECANCELED, "and resolves canceled at once: %d", result_rc(1));
	json_decref(h.events);

	/* WAIT_CANCELLATION_COMPLETED asks, then waits for what the activity does */
	s = started_then_stopped(&h, DURABLE_CANCEL_WAIT_CANCELLATION_COMPLETED, 0);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "RequestCancelActivityTask") == 0 &&
		      json_integer_value(json_object_get(json_array_get(out.commands, 0), "scheduled_event_id")) == s,
	      "wait asks and blocks: %zu %s", ncmds(), cmd_type(0));
	done(&h);
	ev(&h, "ActivityTaskCancelRequested", json_pack("{s:I}", "scheduled_event_id", (json_int_t)s));
	json_t *snapshot = json_deep_copy(h.events);
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 0, "the request alone does not resolve it, and is not sent again: %zu", ncmds());
	done(&h);
	ev(&h, "ActivityTaskCanceled", json_pack("{s:I}", "scheduled_event_id", (json_int_t)s));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_ECANCELED, "canceled once the activity said so: %d", result_rc(0));
	json_decref(h.events);
	/* the activity finished its work instead: that is the outcome */
	h.events = snapshot;
	act_done(&h, s, json_integer(7));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == 0, "completed despite the request: %d", result_rc(0));
	CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "result"), "result")) == 7,
	      "with its result");
	json_decref(h.events);

	/* ABANDON tells nobody */
	started_then_stopped(&h, DURABLE_CANCEL_ABANDON, 0);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_ECANCELED, "abandon: no request, canceled: %s %d", cmd_type(0),
	      result_rc(0));
	json_decref(h.events);

	/* children: WAIT_CANCELLATION_COMPLETED is the default */
	int64_t init = started_then_stopped(&h, DURABLE_CANCEL_DEFAULT, 1);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "RequestCancelExternalWorkflowExecution") == 0 &&
		      strcmp(cmd_str(0, "workflow_id"), "kid") == 0 &&
		      json_is_true(json_object_get(json_array_get(out.commands, 0), "child_workflow_only")),
	      "the child is asked (only our child), and the parent waits: %zu %s", ncmds(), cmd_type(0));
	int64_t wtc = done(&h);
	int64_t rq = ev(&h, "RequestCancelExternalWorkflowExecutionInitiated",
			json_pack("{s:s, s:I}", "workflow_id", "kid", "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "ExternalWorkflowExecutionCancelRequested", json_pack("{s:I, s:s}", "initiated_event_id", (json_int_t)rq,
								       "workflow_id", "kid"));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 0, "still waiting for the child to close: %zu", ncmds());
	done(&h);
	ev(&h, "ChildWorkflowExecutionCanceled", json_pack("{s:s, s:I}", "workflow_id", "kid", "initiated_event_id",
							  (json_int_t)init));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_ECANCELED, "canceled when the child closed: %s %d", cmd_type(0),
	      result_rc(0));
	json_decref(h.events);

	/* WAIT_CANCELLATION_REQUESTED: resolves once the child was told, not when it closes */
	init = started_then_stopped(&h, DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED, 1);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "RequestCancelExternalWorkflowExecution") == 0,
	      "wait-requested asks and waits: %zu %s", ncmds(), cmd_type(0));
	wtc = done(&h);
	rq = ev(&h, "RequestCancelExternalWorkflowExecutionInitiated",
		json_pack("{s:s, s:I}", "workflow_id", "kid", "workflow_task_completed_event_id", (json_int_t)wtc));
	snapshot = json_deep_copy(h.events);
	ev(&h, "ExternalWorkflowExecutionCancelRequested", json_pack("{s:I, s:s}", "initiated_event_id", (json_int_t)rq,
								       "workflow_id", "kid"));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_ECANCELED, "canceled once the child was told: %s %d", cmd_type(0),
	      result_rc(0));
	json_decref(h.events);
	/* the child had completed before the request reached it: its result */
	h.events = snapshot;
	ev(&h, "ChildWorkflowExecutionCompleted", json_pack("{s:s, s:I, s:i}", "workflow_id", "kid", "initiated_event_id",
							   (json_int_t)init, "result", 5));
	ev(&h, "RequestCancelExternalWorkflowExecutionFailed",
	   json_pack("{s:I, s:s, s:s}", "initiated_event_id", (json_int_t)rq, "workflow_id", "kid", "cause",
		     "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"));
	task(&h);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == 0, "the child's own outcome came first: %d", result_rc(0));
	json_decref(h.events);
	start(&h, json_pack("{s:i, s:b}", "type", DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED, "child", 0));
	run(&h, wf_cancel_type);
	CHECK(out.kind == DURABLE__FAIL_TASK, "activities have no wait-requested type");
	json_decref(h.events);

	started_then_stopped(&h, DURABLE_CANCEL_TRY_CANCEL, 1);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RequestCancelExternalWorkflowExecution") == 0 &&
		      result_rc(1) == DURABLE_ECANCELED, "child try-cancel: %zu", ncmds());
	json_decref(h.events);
	started_then_stopped(&h, DURABLE_CANCEL_ABANDON, 1);
	run(&h, wf_cancel_type);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_ECANCELED, "child abandon: %s", cmd_type(0));
	json_decref(h.events);

	/* an unknown type is a programming error: the task fails, visibly */
	start(&h, json_pack("{s:i, s:b}", "type", 9, "child", 0));
	run(&h, wf_cancel_type);
	CHECK(out.kind == DURABLE__FAIL_TASK && strstr(fail_msg(), "Invalid argument"), "cancellation type 9: %s",
	      fail_msg());
	json_decref(h.events);
}

/* The parent waits on its child (or two activities) when its own
 * cancellation arrives; type as in wf_cancel_type. */
static int wf_parent(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)output;
	durable_cancellation_type_t ct = (durable_cancellation_type_t)json_integer_value(json_object_get(input, "type"));
	if (json_is_true(json_object_get(input, "child"))) {
		durable_child_options_t o = {.workflow_id = "kid", .cancellation_type = ct};
		return durable_child(ctx, "Kid", NULL, &o, NULL);
	}
	durable_activity_options_t o = {.start_to_close_timeout = 60, .cancellation_type = ct};
	durable_future_t *f[2];
	DURABLE_TRY(durable_activity_start(ctx, "a", NULL, &o, &f[0]));
	DURABLE_TRY(durable_activity_start(ctx, "b", NULL, &o, &f[1]));
	return durable_wait_all(ctx, f, 2);
}

static void test_parent_cancel(void)
{
	hist_t h;
	start(&h, json_pack("{s:i, s:b}", "type", DURABLE_CANCEL_DEFAULT, "child", 1));
	int64_t wtc = done(&h);
	int64_t init = ev(&h, "StartChildWorkflowExecutionInitiated",
			  json_pack("{s:s, s:s, s:I}", "workflow_id", "kid", "workflow_type", "Kid",
				    "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "WorkflowExecutionCancelRequested", NULL);
	task(&h);
	json_t *snapshot = json_deep_copy(h.events);
	run(&h, wf_parent);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "RequestCancelExternalWorkflowExecution") == 0,
	      "a canceled parent asks its child and does not close yet: %zu %s", ncmds(), cmd_type(0));
	wtc = done(&h);
	ev(&h, "RequestCancelExternalWorkflowExecutionInitiated",
	   json_pack("{s:s, s:I}", "workflow_id", "kid", "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(&h, "ChildWorkflowExecutionCanceled", json_pack("{s:s, s:I}", "workflow_id", "kid", "initiated_event_id",
							  (json_int_t)init));
	task(&h);
	run(&h, wf_parent);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CancelWorkflowExecution") == 0,
	      "it closes CANCELED once the child did: %s", cmd_type(0));
	json_decref(h.events);
	/* with TRY_CANCEL it closes at once (the child is then ended by its parent close policy) */
	h.events = snapshot;
	json_object_set_new(json_object_get(json_object_get(json_array_get(h.events, 0), "attributes"), "input"), "type",
			    json_integer(DURABLE_CANCEL_TRY_CANCEL));
	run(&h, wf_parent);
	CHECK(ncmds() == 2 && strcmp(cmd_type(1), "CancelWorkflowExecution") == 0, "try-cancel closes at once: %zu",
	      ncmds());
	json_decref(h.events);

	/* wait_all: both activities are asked in the same task, then both are awaited */
	start(&h, json_pack("{s:i, s:b}", "type", DURABLE_CANCEL_WAIT_CANCELLATION_COMPLETED, "child", 0));
	wtc = done(&h);
	int64_t a = scheduled(&h, wtc, "1", "a"), b = scheduled(&h, wtc, "2", "b");
	ev(&h, "WorkflowExecutionCancelRequested", NULL);
	task(&h);
	run(&h, wf_parent);
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RequestCancelActivityTask") == 0 &&
		      strcmp(cmd_type(1), "RequestCancelActivityTask") == 0, "both asked at once: %zu", ncmds());
	done(&h);
	ev(&h, "ActivityTaskCanceled", json_pack("{s:I}", "scheduled_event_id", (json_int_t)b));
	task(&h);
	run(&h, wf_parent);
	CHECK(ncmds() == 0, "one of two ended: still waiting: %zu", ncmds());
	done(&h);
	act_failed(&h, a, "late");
	task(&h);
	run(&h, wf_parent);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "CancelWorkflowExecution") == 0, "both ended: canceled: %s",
	      cmd_type(0));
	json_decref(h.events);
}

static int wf_cancel_same_task(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	durable_future_t *f;
	DURABLE_TRY(durable_activity_start(ctx, "never", NULL, NULL, &f));
	DURABLE_TRY(durable_future_cancel(ctx, f));
	if (durable_future_get(ctx, f, NULL) != DURABLE_ECANCELED)
		return -EIO;
	return durable_sleep(ctx, 5);
}

/* Signals and cancel requests to other workflows: {"rc", "type", "message"}. */
static int wf_external(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	int rc = json_is_true(json_object_get(input, "cancel")) ? durable_cancel_external(ctx, "other")
								: durable_signal_external(ctx, "other", "ping", durable_json(ctx, "i", 1));
	if (DURABLE_STOPPED(rc))
		return rc;
	json_t *fl = durable_failure(ctx);
	*output = durable_json(ctx, "{s:i, s:O*, s:O*}", "rc", rc, "type", json_object_get(fl, "type"), "message",
			    json_object_get(fl, "message"));
	return 0;
}

static void external_outcome(hist_t *h, int cancel, const char *outcome)
{
	start(h, json_pack("{s:b}", "cancel", cancel));
	int64_t wtc = done(h);
	int64_t init = cancel ? ev(h, "RequestCancelExternalWorkflowExecutionInitiated",
				   json_pack("{s:s, s:I}", "workflow_id", "other", "workflow_task_completed_event_id",
					     (json_int_t)wtc))
			      : ev(h, "SignalExternalWorkflowExecutionInitiated",
				   json_pack("{s:s, s:s, s:I}", "workflow_id", "other", "signal_name", "ping",
					     "workflow_task_completed_event_id", (json_int_t)wtc));
	ev(h, outcome, json_pack("{s:I, s:s, s:s}", "initiated_event_id", (json_int_t)init, "workflow_id", "other",
				 "cause", "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"));
	task(h);
}

static const char *result_str(const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 0), "result"), key));
	return v ? v : "(none)";
}

static void test_external(void)
{
	hist_t h;
	start(&h, json_pack("{s:b}", "cancel", 1));
	run(&h, wf_external);
	CHECK(ncmds() == 1 && strcmp(cmd_type(0), "RequestCancelExternalWorkflowExecution") == 0,
	      "a cancel request waits for its outcome: %zu", ncmds());
	json_decref(h.events);

	external_outcome(&h, 0, "SignalExternalWorkflowExecutionFailed");
	run(&h, wf_external);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_EFAILED, "a signal to nobody fails: %d", result_rc(0));
	CHECK(strcmp(result_str("type"), "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND") == 0, "typed: %s", result_str("type"));
	CHECK(strstr(result_str("message"), "signal to workflow \"other\" failed: no workflow with that id is running"),
	      "and said: %s", result_str("message"));
	json_decref(h.events);
	external_outcome(&h, 0, "ExternalWorkflowExecutionSignaled");
	run(&h, wf_external);
	CHECK(ncmds() == 1 && result_rc(0) == 0, "a delivered signal: %d", result_rc(0));
	json_decref(h.events);
	external_outcome(&h, 1, "RequestCancelExternalWorkflowExecutionFailed");
	run(&h, wf_external);
	CHECK(ncmds() == 1 && result_rc(0) == DURABLE_EFAILED && strstr(result_str("message"), "cancel request to workflow"),
	      "a cancel request to nobody fails: %s", result_str("message"));
	json_decref(h.events);
	external_outcome(&h, 1, "ExternalWorkflowExecutionCancelRequested");
	run(&h, wf_external);
	CHECK(ncmds() == 1 && result_rc(0) == 0, "a delivered cancel request: %d", result_rc(0));
	json_decref(h.events);

	/* an activity canceled in the task that schedules it is really canceled */
	start(&h, NULL);
	run(&h, wf_cancel_same_task);
	CHECK(ncmds() == 3 && strcmp(cmd_type(1), "RequestCancelActivityTask") == 0 &&
		      strcmp(cmd_str(1, "activity_id"), "1") == 0 && strcmp(cmd_type(2), "StartTimer") == 0,
	      "cancel by activity id in the same task: %zu %s", ncmds(), cmd_type(1));
	json_decref(h.events);
}

/* Local activities ---------------------------------------------------------- */

static int wf_local(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	int rc = durable_local_activity(ctx, "step", input, NULL, &r);
	if (rc == DURABLE_EFAILED || rc == DURABLE_ETIMEDOUT) {
		*output = durable_json(ctx, "{s:s, s:O}", "error", rc == DURABLE_EFAILED ? "failed" : "timed out", "failure",
				       durable_failure(ctx));
		return 0;
	}
	DURABLE_TRY(rc);
	DURABLE_TRY(durable_activity(ctx, "remote", r, NULL, NULL));
	*output = r;
	return 0;
}

static int replaying_after_local;

static int wf_local_logs(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	int before = durable_is_replaying(ctx);
	DURABLE_TRY(durable_local_activity(ctx, "step", input, NULL, &r));
	replaying_after_local = durable_is_replaying(ctx);
	*output = durable_json(ctx, "i", before);
	return 0;
}

static int wf_two_locals(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *f[2];
	json_t *a, *b;
	(void)input;
	DURABLE_TRY(durable_local_activity_start(ctx, "a", NULL, NULL, &f[0]));
	DURABLE_TRY(durable_local_activity_start(ctx, "b", NULL, NULL, &f[1]));
	DURABLE_TRY(durable_wait_all(ctx, f, 2));
	DURABLE_TRY(durable_future_get(ctx, f[0], &a));
	DURABLE_TRY(durable_future_get(ctx, f[1], &b));
	*output = durable_json(ctx, "[O, O]", a, b);
	return 0;
}

static void run_local(hist_t *h, durable_workflow_fn fn, json_t *results)
{
	durable__task_t t = {.workflow_id = "wf-1", .run_id = "11111111-2222-3333-4444-555555555555",
			     .workflow_type = "T", .history = h->events, .started_event_id = h->started,
			     .local_results = results};
	durable__outcome_free(&out);
	CHECK(durable__replay(fn, &t, &out) == 0, "replay failed");
	json_decref(results);
}

static json_t *la(const char *id, const char *type, int attempt, const char *key, json_t *value)
{
	return json_pack("{s:s, s:s, s:i, s:I, s:o}", "activity_id", id, "activity_type", type, "attempt", attempt,
			 "scheduled_time_ms", (json_int_t)1000, key, value);
}

static int64_t marker(hist_t *h, int64_t wtc, json_t *details)
{
	return ev(h, "MarkerRecorded", json_pack("{s:s, s:o, s:I}", "marker_name", "LocalActivity", "details", details,
						 "workflow_task_completed_event_id", (json_int_t)wtc));
}

static void test_local_activities(void)
{
	hist_t h;
	start(&h, json_integer(5));
	/* first run: nothing recorded, nothing run: the worker is asked to run it */
	run(&h, wf_local);
	CHECK(out.kind == DURABLE__LOCAL, "kind %d", out.kind);
	json_t *req = json_array_get(out.local, 0);
	CHECK(json_array_size(out.local) == 1, "%zu requests", json_array_size(out.local));
	CHECK(strcmp(json_string_value(json_object_get(req, "key")), "1#1") == 0, "key");
	CHECK(strcmp(json_string_value(json_object_get(req, "activity_type")), "step") == 0, "type");
	CHECK(json_integer_value(json_object_get(req, "input")) == 5, "input");
	CHECK(json_real_value(json_object_get(json_object_get(req, "options"), "start_to_close_timeout")) == 60,
	      "default start-to-close 60 s");
	/* replayed with the worker's result: a marker, then what follows */
	run_local(&h, wf_local, json_pack("{s:o}", "1#1", la("1", "step", 1, "result", json_integer(6))));
	CHECK(out.kind == DURABLE__COMPLETE && ncmds() == 2, "kind %d, %zu commands", out.kind, ncmds());
	CHECK(strcmp(cmd_type(0), "RecordMarker") == 0 && strcmp(cmd_str(0, "marker_name"), "LocalActivity") == 0,
	      "a LocalActivity marker, got %s", cmd_type(0));
	json_t *d = json_object_get(json_array_get(out.commands, 0), "details");
	CHECK(json_integer_value(json_object_get(d, "result")) == 6 && json_integer_value(json_object_get(d, "attempt")) == 1,
	      "the marker holds the result and attempt");
	CHECK(strcmp(cmd_type(1), "ScheduleActivityTask") == 0 && strcmp(cmd_str(1, "activity_id"), "2") == 0,
	      "the next command takes the next id, got %s", cmd_str(1, "activity_id"));

	/* replay over the recorded marker: the code is not asked for again */
	int64_t wtc = done(&h);
	marker(&h, wtc, la("1", "step", 1, "result", json_integer(6)));
	int64_t s = scheduled(&h, wtc, "2", "remote");
	act_done(&h, s, json_null());
	task(&h);
	run(&h, wf_local);
	CHECK(out.kind == DURABLE__COMPLETE && ncmds() == 1 && strcmp(cmd_type(0), "CompleteWorkflowExecution") == 0,
	      "kind %d, %s", out.kind, cmd_type(0));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 0), "result")) == 6,
	      "the result comes from the marker");
	json_decref(h.events);

	/* another type recorded where the code now runs "step": non-determinism */
	start(&h, json_integer(5));
	wtc = done(&h);
	marker(&h, wtc, la("1", "other", 1, "result", json_integer(6)));
	s = scheduled(&h, wtc, "2", "remote");
	task(&h);
	run(&h, wf_local);
	CHECK(out.kind == DURABLE__FAIL_TASK && strcmp(out.cause, "NON_DETERMINISTIC_ERROR") == 0, "kind %d", out.kind);
	CHECK(strstr(fail_msg(), "local activity step") != NULL, "names the type: %s", fail_msg());
	json_decref(h.events);

	/* a failure and a timeout reach the workflow */
	start(&h, NULL);
	run_local(&h, wf_local, json_pack("{s:o}", "1#1", la("1", "step", 3, "failure",
		json_pack("{s:s, s:s}", "message", "no", "type", "Boom"))));
	json_t *res = json_object_get(json_array_get(out.commands, 1), "result");
	CHECK(ncmds() == 2 && strcmp(json_string_value(json_object_get(res, "error")), "failed") == 0,
	      "DURABLE_EFAILED with the failure");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(res, "failure"), "type")), "Boom") == 0,
	      "durable_failure() is the attempt's failure");
	run_local(&h, wf_local, json_pack("{s:o}", "1#1", la("1", "step", 1, "failure",
		json_pack("{s:s, s:s}", "message", "late", "type", "TimeoutError"))));
	res = json_object_get(json_array_get(out.commands, 1), "result");
	CHECK(strcmp(json_string_value(json_object_get(res, "error")), "timed out") == 0, "TimeoutError: DURABLE_ETIMEDOUT");

	/* a long backoff: the marker, a timer, then attempt 2 once it fired */
	json_t *backoff = la("1", "step", 4, "failure", json_pack("{s:s, s:s}", "message", "busy", "type", "Busy"));
	json_object_set_new(backoff, "backoff", json_real(120));
	run_local(&h, wf_local, json_pack("{s:O}", "1#4", backoff));
	CHECK(out.kind == DURABLE__LOCAL, "attempt 4 is asked for first (kind %d)", out.kind);
	/* the worker's attempt number is the request's: 1#1 here; give 1#1 the backoff */
	json_object_set_new(backoff, "attempt", json_integer(1));
	run_local(&h, wf_local, json_pack("{s:O}", "1#1", backoff));
	CHECK(out.kind == DURABLE__COMPLETE && ncmds() == 2, "kind %d, %zu", out.kind, ncmds());
	CHECK(strcmp(cmd_type(1), "StartTimer") == 0 &&
	      json_real_value(json_object_get(json_array_get(out.commands, 1), "start_to_fire_timeout")) == 120,
	      "the backoff is a timer, got %s", cmd_type(1));
	wtc = done(&h);
	marker(&h, wtc, json_incref(backoff));
	s = timer(&h, wtc, "t2");
	fired(&h, s, "t2");
	task(&h);
	run(&h, wf_local);
	CHECK(out.kind == DURABLE__LOCAL, "after the timer, attempt 2 is asked for (kind %d)", out.kind);
	req = json_array_get(out.local, 0);
	CHECK(strcmp(json_string_value(json_object_get(req, "key")), "1#2") == 0 &&
	      json_integer_value(json_object_get(req, "attempt")) == 2 &&
	      json_integer_value(json_object_get(req, "scheduled_time_ms")) == 1000,
	      "attempt 2 keeps the first attempt's schedule time");
	run_local(&h, wf_local, json_pack("{s:o}", "1#2", la("1", "step", 2, "result", json_integer(8))));
	CHECK(ncmds() == 2 && strcmp(cmd_type(0), "RecordMarker") == 0 && strcmp(cmd_str(1, "activity_id"), "4") == 0,
	      "marker, then the activity with id 4 (got %s)", cmd_str(1, "activity_id"));
	json_decref(backoff);
	json_decref(h.events);

	/* the run with the outcome re-runs what came before it: silent logs, then not */
	start(&h, NULL);
	run_local(&h, wf_local_logs, json_pack("{s:o}", "1#1", la("1", "step", 1, "result", json_integer(1))));
	CHECK(json_integer_value(json_object_get(json_array_get(out.commands, 1), "result")) == 1,
	      "before the local activity's outcome, the code is replaying");
	CHECK(replaying_after_local == 0, "after it, not");
	json_decref(h.events);

	/* futures: both asked for at once, both recorded in call order */
	start(&h, NULL);
	run(&h, wf_two_locals);
	CHECK(out.kind == DURABLE__LOCAL && json_array_size(out.local) == 2, "two requests in one round");
	run_local(&h, wf_two_locals, json_pack("{s:o, s:o}", "1#1", la("1", "a", 1, "result", json_string("A")),
					       "2#1", la("2", "b", 1, "result", json_string("B"))));
	CHECK(ncmds() == 3 && strcmp(cmd_type(2), "CompleteWorkflowExecution") == 0, "%zu commands", ncmds());
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(json_array_get(out.commands, 1), "details"),
						       "activity_type")), "b") == 0, "markers in call order");
	/* a query does not run local activities */
	run_q(&h, wf_two_locals, "anything");
	CHECK(out.kind == DURABLE__ANSWER, "a query is answered, kind %d", out.kind);
	json_decref(h.events);
}

int main(void)
{
	test_activity();
	test_input_copied();
	test_nondeterminism();
	test_replay_match();
	test_timers_and_now();
	test_futures();
	test_signals();
	test_cancellation();
	test_saga_helper();
	test_markers();
	test_side_effect_draws();
	test_child_continue_query();
	test_failed_tasks_and_unknown();
	test_parse_time();
	test_misc_commands();
	test_signal_future();
	test_updates();
	test_child_id();
	test_cancellation_types();
	test_parent_cancel();
	test_external();
	test_local_activities();
	durable__outcome_free(&out);
	return CHECK_DONE();
}
