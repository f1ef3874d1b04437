/* durable_set_log_handler: the library's lines and a workflow's durable_log
 * reach the host's handler, with their level, once, and not while replaying. */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "check.h"
#include "ctx.h"

/* docs/sdk.md's example, compiled here */
static void to_syslog(const char *level, const char *message, void *arg)
{
	(void)arg;
	syslog(strcmp(level, "ERROR") == 0 ? LOG_ERR : strcmp(level, "WARN") == 0 ? LOG_WARNING : LOG_INFO,
	       "%s", message);
}

static char lines[8][512];
static int nlines;

static void capture(const char *level, const char *message, void *arg)
{
	if (nlines < 8)
		snprintf(lines[nlines++], sizeof(lines[0]), "%s|%s|%s", (const char *)arg, level, message);
}

static int wf_logs(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	durable_log(ctx, "before %d", 1);
	DURABLE_TRY(durable_sleep(ctx, 10));
	durable_log(ctx, "after");
	return 0;
}

static json_t *event(int64_t id, const char *type, json_t *attrs)
{
	return json_pack("{s:I, s:s, s:s, s:o}", "event_id", (json_int_t)id, "event_type", type, "event_time",
			 "2026-01-01T00:00:00.000000+00:00", "attributes", attrs ? attrs : json_object());
}

static void replay(json_t *history, int64_t started)
{
	durable__task_t t = {.workflow_id = "wf-log", .run_id = "r", .workflow_type = "T", .history = history,
			     .started_event_id = started};
	durable__outcome_t out;
	CHECK(durable__replay(wf_logs, &t, &out) == 0, "replay");
	durable__outcome_free(&out);
}

int main(void)
{
	durable_set_log_handler(to_syslog, NULL);   /* NULL: back to stderr */
	durable_set_log_handler(capture, "host");
	durable__log("WARN", "lease %s lost", "a1.2");
	CHECK(nlines == 1 && strcmp(lines[0], "host|WARN|lease a1.2 lost") == 0, "a library line: %s", lines[0]);

	json_t *h = json_array();
	json_array_append_new(h, event(1, "WorkflowExecutionStarted", json_pack("{s:s}", "workflow_type", "T")));
	json_array_append_new(h, event(2, "WorkflowTaskScheduled", NULL));
	json_array_append_new(h, event(3, "WorkflowTaskStarted", NULL));
	replay(h, 3);
	CHECK(nlines == 2 && strcmp(lines[1], "host|INFO|workflow wf-log: before 1") == 0, "a workflow's line: %s",
	      lines[1]);

	/* the next task replays "before" (silent) and logs "after" */
	json_array_append_new(h, event(4, "WorkflowTaskCompleted", json_pack("{s:i}", "started_event_id", 3)));
	json_array_append_new(h, event(5, "TimerStarted", json_pack("{s:s, s:i}", "timer_id", "t1",
								      "workflow_task_completed_event_id", 4)));
	json_array_append_new(h, event(6, "TimerFired", json_pack("{s:s, s:i}", "timer_id", "t1", "started_event_id", 5)));
	json_array_append_new(h, event(7, "WorkflowTaskScheduled", NULL));
	json_array_append_new(h, event(8, "WorkflowTaskStarted", NULL));
	replay(h, 8);
	CHECK(nlines == 3 && strcmp(lines[2], "host|INFO|workflow wf-log: after") == 0,
	      "only the new line, not the replayed one: %d lines, last %s", nlines, lines[nlines - 1]);

	/* DEBUG lines: DURABLE_LOG is read once (durable_worker_new reads it
	 * again), not at every line */
	unsetenv("DURABLE_LOG");
	durable__log_reread();
	durable__log("DEBUG", "hidden");
	CHECK(nlines == 3, "no DEBUG line without DURABLE_LOG=debug");
	setenv("DURABLE_LOG", "debug", 1);
	durable__log("DEBUG", "still hidden");
	CHECK(nlines == 3, "DURABLE_LOG is not read at each line");
	durable__log_reread();
	durable__log("DEBUG", "shown");
	CHECK(nlines == 4 && strcmp(lines[3], "host|DEBUG|shown") == 0, "DEBUG once read again: %s", lines[3]);
	unsetenv("DURABLE_LOG");
	durable__log_reread();
	durable__log("DEBUG", "hidden again");
	CHECK(nlines == 4, "and off again");

	durable_set_log_handler(NULL, NULL);
	durable__log("INFO", "back on stderr");
	CHECK(nlines == 4, "NULL restores stderr");
	json_decref(h);
	return CHECK_DONE();
}
