/* A tiny test harness: CHECK counts and reports, never aborts mid-file. */
#ifndef DURABLE_CHECK_H
#define DURABLE_CHECK_H
#include <stdio.h>
static int check_run, check_failed;
#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		check_run++;                                                    \
		if (!(cond)) {                                                  \
			check_failed++;                                         \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
		}                                                               \
	} while (0)
/* A history of a run that just started: WorkflowExecutionStarted of type
 * T with input (stolen; NULL = null) and its first workflow task, started
 * at event 3. */
#include <jansson.h>
__attribute__((unused)) static json_t *started_history(json_t *input)
{
	return json_pack("[{s:i, s:s, s:s, s:{s:s, s:o}}, {s:i, s:s, s:s, s:{}}, {s:i, s:s, s:s, s:{s:i}}]",
			 "event_id", 1, "event_type", "WorkflowExecutionStarted", "event_time",
			 "2026-01-01T00:00:00.000000+00:00", "attributes", "workflow_type", "T", "input",
			 input ? input : json_null(),
			 "event_id", 2, "event_type", "WorkflowTaskScheduled", "event_time",
			 "2026-01-01T00:00:01.000000+00:00", "attributes",
			 "event_id", 3, "event_type", "WorkflowTaskStarted", "event_time",
			 "2026-01-01T00:00:02.000000+00:00", "attributes", "scheduled_event_id", 2);
}
#define CHECK_DONE()                                                            \
	(printf("%d checks, %d failed\n", check_run, check_failed), check_failed ? 1 : 0)
#endif
