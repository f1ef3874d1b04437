/* Kept runs (run.c): a workflow task that leaves its run's function
 * waiting, so that the run's next task goes on from there instead of
 * replaying the whole history. */
#ifndef DURABLE_RUN_H
#define DURABLE_RUN_H

#include "replay.h"

typedef struct durable__run durable__run_t;

/* What a kept run's pool may hold (durable_json/durable_keep values, child
 * ids, the commands it sent) before it is not kept: the values a waiting
 * function holds cannot be freed under it, so past this it is unwound after
 * its task, and the next task replays with a fresh pool. Bytes are an
 * estimate (durable__json_bytes). */
#define DURABLE__RUN_POOL_BYTES ((size_t)8 << 20)
#define DURABLE__RUN_POOL_ENTRIES ((size_t)100000)
extern size_t durable__run_pool_bytes;   /* DURABLE__RUN_POOL_BYTES; tests lower it */

/* Runs a workflow task (not a query) as durable__replay does, in a run
 * that can be kept: *run (free it with durable__run_free). 0, or -ENOMEM. */
int durable__run_start(durable_workflow_fn fn, const durable__task_t *task, durable__outcome_t *out,
		       durable__run_t **run);
/* The run's next task: task->history must be the same array, grown by the
 * events since. 0 and out filled; -EAGAIN (or -ENOMEM) when the run cannot
 * go on (it is not waiting, or the new events do not continue what it saw
 * and sent): free it and replay the task. */
int durable__run_resume(durable__run_t *run, const durable__task_t *task, durable__outcome_t *out);
/* The outcomes of the local activities the run asked for in its task
 * (out->kind was DURABLE__LOCAL; task->local_results holds them): 0 and
 * out filled, or -EAGAIN (or -ENOMEM) when the run cannot go on with them:
 * free it and replay the task with the results. */
int durable__run_locals(durable__run_t *run, const durable__task_t *task, durable__outcome_t *out);
/* The function waits for the next task (not ended, nothing that makes the
 * run replay). */
int durable__run_waiting(const durable__run_t *run);
/* Whether to keep the run after a task with outcome out: it waits for the
 * next task (a completed one) or for its local activities (DURABLE__LOCAL). */
int durable__run_goes_on(const durable__run_t *run, const durable__outcome_t *out);
/* Why durable__run_goes_on is false, for the log. */
const char *durable__run_why_not(const durable__run_t *run, const durable__outcome_t *out);
/* Unwinds a waiting function (its wait returns DURABLE_BLOCKED) and frees. */
void durable__run_free(durable__run_t *run);

#endif
