/* Unit tests of executable activities on a real libuv loop, without a
 * database: the exit-status convention, JSON in and out, heartbeat lines,
 * and a loop that closes with every handle closed. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "runtime.h"

static char dir[] = "/tmp/durable-unit-exec.XXXXXX";

static void script(const char *name, const char *body)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

/* Runs one executable activity to its outcome; returns the outcome object
 * the worker would send (a new reference). */
static json_t *run(durable_worker_t *w, const char *name, json_t *input)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct durable_activity_ctx_s *a = calloc(1, sizeof(*a));
	uv_mutex_init(&a->mu);
	a->w = w;
	a->refs = 1;
	a->token = strdup("a1.1");
	a->workflow_id = strdup("wf");
	a->activity_id = strdup("1");
	a->type = strdup(name);
	a->attempt = 3;
	a->input = input;
	a->next = w->active;
	w->active = a;
	w->running++;
	int rc = durable__exec_activity(a, path, durable__activity_finish);
	CHECK(rc == 0, "exec_activity returned %d", rc);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	CHECK(w->running == 0, "the activity finished");
	json_t *o = json_incref(json_array_get(w->outcomes, 0));
	json_array_clear(w->outcomes);
	return o;
}

static const char *failure_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, "failure"), key));
	return s ? s : "(none)";
}

int main(void)
{
	durable_worker_options_t opts = {.task_queue = "unit"};
	durable_worker_t *w;
	CHECK(durable_worker_new(&opts, &w) == 0, "worker");
	signal(SIGPIPE, SIG_IGN);   /* as durable_worker_run does */
	if (!mkdtemp(dir))
		return 1;
	CHECK(uv_loop_init(&w->loop) == 0, "loop");
	uv_async_init(&w->loop, &w->wakeup, durable__activities_wakeup);
	w->wakeup.data = w;
	uv_unref((uv_handle_t *)&w->wakeup);   /* the loop ends when the activity does */

	script("double", "read x; echo $((x * 2)); echo attempt=$DURABLE_ATTEMPT >&2");
	json_t *o = run(w, "double", json_integer(21));
	CHECK(json_integer_value(json_object_get(o, "result")) == 42, "stdout is the result");
	CHECK(strcmp(json_string_value(json_object_get(o, "task_token")) ?: "", "a1.1") == 0, "the token is kept");
	json_decref(o);

	script("empty", "cat >/dev/null");
	o = run(w, "empty", json_null());
	CHECK(json_is_null(json_object_get(o, "result")), "empty stdout is null");
	json_decref(o);

	/* exits without reading its input: the worker must survive EPIPE */
	script("flaky", "echo 'disk full' >&2; echo 'really full' >&2; exit 1");
	o = run(w, "flaky", NULL);
	CHECK(strstr(failure_str(o, "message"), "exit status 1: disk full\nreally full") != NULL, "stderr tail: %s",
	      failure_str(o, "message"));
	CHECK(json_is_false(json_object_get(json_object_get(o, "failure"), "non_retryable")), "exit 1 is retryable");
	json_decref(o);

	script("refuse", "echo 'no such customer' >&2; exit 2");
	o = run(w, "refuse", NULL);
	CHECK(json_is_true(json_object_get(json_object_get(o, "failure"), "non_retryable")), "exit 2 is non-retryable");
	json_decref(o);

	script("typed", "echo '{\"message\": \"card declined\", \"type\": \"CardDeclined\"}'; exit 3");
	o = run(w, "typed", NULL);
	CHECK(strcmp(failure_str(o, "type"), "CardDeclined") == 0, "a JSON failure on stdout: %s", failure_str(o, "type"));
	CHECK(strcmp(failure_str(o, "message"), "card declined") == 0, "its message");
	json_decref(o);

	script("garbage", "echo 'this is not json'");
	o = run(w, "garbage", NULL);
	CHECK(strcmp(failure_str(o, "type"), "BadOutput") == 0, "non-JSON output fails: %s", failure_str(o, "type"));
	json_decref(o);

	script("beat", "echo 'DURABLE_HEARTBEAT {\"step\": 1}' >&2; echo 'oops' >&2; exit 1");
	o = run(w, "beat", NULL);
	CHECK(strstr(failure_str(o, "message"), "DURABLE_HEARTBEAT") == NULL, "heartbeat lines are not the message: %s",
	      failure_str(o, "message"));
	CHECK(strstr(failure_str(o, "message"), "oops") != NULL, "the rest is");
	json_decref(o);

	script("resume", "echo \"$DURABLE_HEARTBEAT_DETAILS\"");
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/resume", dir);
		struct durable_activity_ctx_s *a = calloc(1, sizeof(*a));
		uv_mutex_init(&a->mu);
		a->w = w;
		a->refs = 1;
		a->token = strdup("a2.1");
		a->workflow_id = strdup("wf");
		a->activity_id = strdup("2");
		a->type = strdup("resume");
		a->last_details = json_pack("{s:i}", "step", 7);
		a->next = w->active;
		w->active = a;
		w->running++;
		CHECK(durable__exec_activity(a, path, durable__activity_finish) == 0, "exec");
		uv_run(&w->loop, UV_RUN_DEFAULT);
		json_t *r = json_object_get(json_object_get(json_array_get(w->outcomes, 0), "result"), "step");
		CHECK(json_integer_value(r) == 7, "the last attempt's heartbeat details are in the environment");
		json_array_clear(w->outcomes);
	}

	script("input", "cat");
	o = run(w, "input", json_pack("{s:[i,i]}", "a", 1, 2));
	CHECK(json_integer_value(json_array_get(json_object_get(json_object_get(o, "result"), "a"), 1)) == 2,
	      "stdin carries the input as JSON");
	json_decref(o);

	uv_close((uv_handle_t *)&w->wakeup, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&w->loop) == 0, "every handle closed");
	durable_worker_free(w);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
