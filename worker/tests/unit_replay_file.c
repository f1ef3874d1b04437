/* durable_worker_replay_file: histories written to files, replayed against
 * registered workflows without a server. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "durable.h"

static char dir[] = "/tmp/durable-unit-replay.XXXXXX";

/* Started, one workflow task that scheduled activity "a", then a timer. */
static const char *const one_activity =
	"{\"event_id\": 1, \"event_type\": \"WorkflowExecutionStarted\", \"event_time\": \"2026-01-01T00:00:01.000000+00:00\","
	" \"attributes\": {\"workflow_type\": \"T\", \"input\": 3, \"first_execution_run_id\": \"r1\"}}\n"
	"{\"event_id\": 2, \"event_type\": \"WorkflowTaskScheduled\", \"event_time\": \"2026-01-01T00:00:02.000000+00:00\", \"attributes\": {}}\n"
	"\n"
	"{\"event_id\": 3, \"event_type\": \"WorkflowTaskStarted\", \"event_time\": \"2026-01-01T00:00:03.000000+00:00\","
	" \"attributes\": {\"scheduled_event_id\": 2}}\n"
	"{\"event_id\": 4, \"event_type\": \"WorkflowTaskCompleted\", \"event_time\": \"2026-01-01T00:00:04.000000+00:00\","
	" \"attributes\": {\"started_event_id\": 3}}\n"
	"{\"event_id\": 5, \"event_type\": \"ActivityTaskScheduled\", \"event_time\": \"2026-01-01T00:00:05.000000+00:00\","
	" \"attributes\": {\"activity_id\": \"1\", \"activity_type\": \"a\", \"workflow_task_completed_event_id\": 4}}\n";

static const char *activity_type = "a";

static int wf(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, activity_type, input, NULL, &r));
	*output = r;
	return 0;
}

static char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

int main(void)
{
	char err[1024];
	durable_worker_t *w;
	durable_worker_options_t o = {.task_queue = "replay"};
	if (!mkdtemp(dir) || durable_worker_new(&o, &w) < 0)
		return 1;
	durable_worker_register_workflow(w, "T", wf);

	char *p = strdup(write_file("h.ndjson", one_activity));
	int rc = durable_worker_replay_file(w, p, err, sizeof(err));
	CHECK(rc == 0, "the same code replays: %d %s", rc, err);

	activity_type = "b";
	err[0] = '\0';
	rc = durable_worker_replay_file(w, p, err, sizeof(err));
	CHECK(rc == DURABLE_ENONDET, "another activity does not: %d", rc);
	CHECK(strstr(err, "NON_DETERMINISTIC_ERROR: event 5:") && strstr(err, "h.ndjson"),
	      "the message names the file and the event: %s", err);
	activity_type = "a";

	/* a JSON array of the same events is accepted too */
	char arr[4096] = "[";
	const char *s = one_activity;
	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1)
		if (nl > s) {
			strncat(arr, s, (size_t)(nl - s));
			strcat(arr, ",");
		}
	arr[strlen(arr) - 1] = ']';
	rc = durable_worker_replay_file(w, write_file("arr.json", arr), err, sizeof(err));
	CHECK(rc == 0, "an array replays: %d %s", rc, err);

	rc = durable_worker_replay_file(w, write_file("bad.ndjson", "{\"event_id\": 1}\nnot json\n"), err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "bad.ndjson:1: not a history event"), "a line without event_type: %d %s",
	      rc, err);
	rc = durable_worker_replay_file(w, write_file("bad2.ndjson", "not json\n"), err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "bad2.ndjson:1: not JSON"), "not JSON: %d %s", rc, err);
	rc = durable_worker_replay_file(w, write_file("tail.ndjson", strchr(one_activity, '\n') + 1), err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "not WorkflowExecutionStarted"), "a history's tail: %d %s", rc, err);
	snprintf(err, sizeof(err), "%s/missing", dir);
	rc = durable_worker_replay_file(w, err, err, sizeof(err));
	CHECK(rc == -ENOENT, "a missing file: %d", rc);

	durable_worker_t *other;
	durable_worker_new(&o, &other);
	rc = durable_worker_replay_file(other, p, err, sizeof(err));
	CHECK(rc == DURABLE_EFAILED && strstr(err, "not registered"), "an unregistered type: %d %s", rc, err);
	durable_worker_free(other);

	durable_worker_free(w);
	free(p);
	const char *names[] = {"h.ndjson", "arr.json", "bad.ndjson", "bad2.ndjson", "tail.ndjson"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(err, sizeof(err), "%s/%s", dir, names[i]);
		unlink(err);
	}
	rmdir(dir);
	return CHECK_DONE();
}
