/* The replay engine's internals: a workflow context built from a history,
 * and the one entry point that runs a workflow task or a query over it. */
#ifndef DURABLE_REPLAY_H
#define DURABLE_REPLAY_H

#include "durable.h"

/* What a workflow task or query is run over. */
typedef struct {
	const char *workflow_id;
	const char *run_id;
	const char *workflow_type;
	json_t *history;           /* borrowed: array of {event_id, event_type, event_time, attributes} */
	int64_t started_event_id;  /* the task's WorkflowTaskStarted; 0 = a query (end of history) */
	const char *query_type;    /* non-NULL for a query */
	json_t *query_args;        /* borrowed */
	json_t *local_results;     /* borrowed: "<activity_id>#<attempt>" -> what the worker's run of a local activity gave, or NULL */
} durable__task_t;

/* The query type durable.update_workflow validates an update with. */
#define DURABLE__UPDATE_QUERY "__update"

enum {
	DURABLE__COMPLETE = 1,     /* send commands with complete_workflow_task */
	DURABLE__FAIL_TASK,        /* call fail_workflow_task with cause and failure */
	DURABLE__ANSWER,           /* a query's answer (or error) */
	DURABLE__LOCAL,            /* run these local activities, then replay again with their results */
};

typedef struct {
	int kind;
	json_t *commands;          /* owned, DURABLE__COMPLETE */
	char cause[64];            /* DURABLE__FAIL_TASK */
	json_t *failure;           /* owned, DURABLE__FAIL_TASK */
	json_t *answer;            /* owned, DURABLE__ANSWER */
	char *error;               /* owned (malloc), DURABLE__ANSWER, NULL on success */
	json_t *local;             /* owned, DURABLE__LOCAL: [{key, activity_id, activity_type, input, attempt, scheduled_time_ms, options}] */
} durable__outcome_t;

/* Runs fn (NULL = unknown workflow type) over the task. Returns 0 and fills
 * out (release it with durable__outcome_free), or -ENOMEM. */
int durable__replay(durable_workflow_fn fn, const durable__task_t *task, durable__outcome_t *out);
void durable__outcome_free(durable__outcome_t *out);
/* Whether a command of that type closes the run (closing_command's). */
int durable__closes_run(const char *command_type);

/* Parses PostgreSQL's JSON timestamps ("2026-11-26T08:33:03.123456+00:00")
 * into ms since the epoch; returns 0 or -EINVAL. */
int durable__parse_time(const char *s, int64_t *ms);
/* The same by sscanf, for any form it reads: what durable__parse_time does
 * with a time not in the store's own form (and unit_replay's reference for
 * the fast path it takes with the others). */
int durable__parse_time_any(const char *s, int64_t *ms);

#endif
