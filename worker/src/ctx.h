/* The workflow context: the indexed history, the replay horizon, the
 * commands produced so far. Shared by history.c, workflow.c and replay.c. */
#ifndef DURABLE_CTX_H
#define DURABLE_CTX_H

#include <stdint.h>
#include "log.h"
#include "replay.h"

enum { F_ACTIVITY = 1, F_TIMER, F_CHILD, F_SIGNAL, F_UPDATE, F_EXTERNAL, F_LOCAL };

struct durable__local;   /* workflow_local.c: a local activity's state */
struct durable__run;     /* run.c: a run kept suspended between its tasks */

/* A command the code issued at the current horizon (not yet in the
 * history), and the future it made, if any: the next task of a kept run
 * finds its event. */
typedef struct {
	const char *event_type;    /* the event the store records for it (a literal) */
	struct durable_future_s *future;
	struct durable_future_s *cancel_of;  /* a child's cancel request: the child's future */
} durable__live_t;

struct durable_future_s {
	int kind;
	int64_t cmd_event_id;      /* ActivityTaskScheduled / TimerStarted / ...Initiated; 0 while new */
	char id[128];              /* activity_id, timer_id, child workflow_id or signal name */
	int taken;                 /* F_SIGNAL, F_UPDATE: the delivery it resolved with is consumed */
	durable_cancellation_type_t cancel_type;  /* F_ACTIVITY, F_CHILD: never DEFAULT */
	int cancel_sent;           /* F_ACTIVITY, F_CHILD: the cancel request was issued */
	int64_t cancel_event_id;   /* F_CHILD: its RequestCancelExternal...Initiated; 0 while new */
	int status;                /* once resolved: 0 or DURABLE_E* */
	int64_t resolve_event_id;  /* the outcome's event id; INT64_MAX = not in the history; 0 = locally */
	json_t *result;            /* borrowed from the history */
	json_t *failure;           /* borrowed from the history, or owned by ctx->pool */
	struct durable_future_s *next;
	struct durable__local *local;  /* F_LOCAL: owned */
};

typedef struct durable__query_handler {
	char *name;
	int is_update;             /* an update's validator, not a query */
	durable_query_fn fn;       /* NULL: answer with state itself */
	durable_update_validator_fn validate;  /* updates: NULL accepts every update */
	json_t *state;             /* a reference */
	struct durable__query_handler *next;
} durable__query_handler_t;

/* A horizon is a point of the history the code may see up to: the
 * WorkflowTaskStarted of each completed task, then the current one. */
typedef struct {
	int64_t started_event_id;  /* events with a smaller id are visible */
	int64_t completed_event_id;/* the WorkflowTaskCompleted that sent its commands; 0 = current */
	int64_t time_ms;
} durable__horizon_t;

struct durable_ctx_s {
	const durable__task_t *task;
	json_t *events;            /* borrowed history array */
	int64_t max_event_id;
	json_t **by_id;            /* event id -> event object (borrowed), NULL for gaps */

	durable__horizon_t *hz;
	size_t nhz;
	size_t cur;                /* index of the horizon the code runs at */

	int64_t *cmd_events;       /* event ids of recorded commands, in order */
	size_t ncmd, cmd_next;
	int64_t *outcome;          /* key event id -> outcome event id (0 = none) */

	int64_t *signals;          /* WorkflowExecutionSignaled and ...UpdateAccepted event ids */
	unsigned char *signal_used;
	size_t nsignals;
	int64_t cancel_event_id;   /* first WorkflowExecutionCancelRequested, 0 = none */
	int cancel_delivered;

	json_t *commands;          /* new commands */
	int stopped;               /* 0, or the status every further call returns */
	unsigned seq;              /* commands issued, numbers ids */
	uint64_t rng;
	uint64_t side_effects;     /* durable_side_effect calls reached: seeds each one's own stream */
	json_t *failure;           /* owned: the failure behind the last error */
	json_t *pool;              /* owned array keeping values we hand out alive */
	size_t pool_bytes;         /* a kept run's: about what durable_keep and its sent commands hold */
	json_t *continue_input;    /* owned */
	json_t *versions;          /* owned: change_id -> version decided in this run */
	char nondet[512];
	durable_future_t *futures;
	durable__query_handler_t *queries;
	json_t *local_requests;    /* owned: local activities to run before the task completes */
	size_t local_seen;         /* outcomes of task->local_results the code reached: until all, it re-runs what it did */
	int cancel_shield;         /* > 0: the workflow's cancellation waits (saga.c) */
	struct durable_saga_s *sagas;

	/* Kept runs (run.c): the function waits suspended at the end of the
	 * history instead of returning DURABLE_BLOCKED, and the next task
	 * indexes only the new events (durable__ctx_extend). */
	struct durable__run *run;  /* NULL: a replay */
	const char *no_keep;       /* NULL, or why the run cannot go on after this task (logged) */
	durable_future_t **locals; /* local activities not known resolved yet (a kept run's local rounds) */
	size_t nlocals, locals_cap;
	size_t nevents;            /* events indexed */
	durable_future_t **future_of;  /* command event id -> the future it made, or NULL */
	durable__live_t *live;     /* commands issued at the current horizon, in order */
	size_t nlive, live_cap;
};

/* history.c */
int durable__ctx_index(durable_ctx_t *ctx);
/* Indexes the events a kept run's history grew by, for the task that
 * started at started_event_id: 0, -ENOMEM, or -EAGAIN (nothing changed)
 * when they do not continue exactly what the run saw and sent: one
 * WorkflowTaskCompleted of the task it ran last, and the events of the
 * commands it issued then, in order. */
int durable__ctx_extend(durable_ctx_t *ctx, int64_t started_event_id);
void durable__ctx_release(durable_ctx_t *ctx);
json_t *durable__event(durable_ctx_t *ctx, int64_t event_id);
const char *durable__event_type(json_t *ev);
json_t *durable__attrs(json_t *ev);
/* The attributes of the run's WorkflowExecutionStarted (borrowed), or NULL. */
json_t *durable__started_attrs(durable_ctx_t *ctx);
int64_t durable__attr_int(json_t *ev, const char *key);
const char *durable__attr_str(json_t *ev, const char *key);

/* saga.c */
void durable__sagas_free(durable_ctx_t *ctx);

/* workflow.c */
int durable__replaying(durable_ctx_t *ctx);
int durable__set_failure(durable_ctx_t *ctx, json_t *failure);
/* for workflow_local.c: issue() and new_future() of workflow.c */
int64_t durable__issue(durable_ctx_t *ctx, json_t *cmd, const char *event_type, const char *key1, const char *key2);
int durable__new_future(durable_ctx_t *ctx, int kind, const char *id, int64_t event_id, durable_future_t **out);
json_t *durable__retry_policy_json(const durable_retry_policy_t *r);
int durable__nondet(durable_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Resolves f from its command's outcome event, if the history has it. */
void durable__resolve(durable_ctx_t *ctx, durable_future_t *f);
/* A child's future whose cancel request (WAIT_CANCELLATION_REQUESTED) the
 * child was told of resolves canceled then, unless it ended first. */
void durable__resolve_told(durable_ctx_t *ctx, durable_future_t *f);

/* replay.c */
/* Sets ctx up for task and indexes its history: 0 or -ENOMEM (release it). */
int durable__ctx_init(durable_ctx_t *ctx, const durable__task_t *task);
/* What the function's return (rc, output) or DURABLE_BLOCKED makes of the task. */
void durable__task_outcome(durable_ctx_t *ctx, int rc, json_t *output, durable__outcome_t *out);

/* run.c */
/* A wait the history does not satisfy: a kept run stops here until its
 * next task (0: go on at the next horizon), or, when it asked for local
 * activities, until their outcomes came (1: look again at this horizon);
 * otherwise -1 (the wait returns DURABLE_BLOCKED, as a replay's does). */
int durable__run_suspend(durable_ctx_t *ctx);
/* A kept run's function waits for the local activities it asked for
 * (the task's outcome is DURABLE__LOCAL) and goes on once
 * durable__local_apply gave them their outcomes: 0. -1 when it cannot
 * (not a kept run, or not to be kept): nothing happened. */
int durable__run_await_locals(durable_ctx_t *ctx);

/* workflow_local.c */
/* Runs f's next step: a recorded marker or worker result resolves it, a
 * backoff marker starts the timer that waits before the next attempt. */
int durable__local_step(durable_ctx_t *ctx, durable_future_t *f);
/* Waits call it: a local activity whose backoff timer fired goes on. */
int durable__local_drive(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n);
int durable__local_cancel(durable_ctx_t *ctx, durable_future_t *f);
/* A kept run's code looks at f, a local activity it asked the worker for:
 * it waits for the outcome first, as a replay has it from the start. */
void durable__local_awaited(durable_ctx_t *ctx, durable_future_t *f);
/* The outcomes of a kept run's local round (results: "<id>#<attempt>" ->
 * marker details): each asked-for local activity resolves, its marker in
 * the place its request took among the task's commands. 0, or -EAGAIN
 * (nothing changed) when one has no outcome or a backoff to wait with a
 * timer: the task replays with the results instead. */
int durable__local_apply(durable_ctx_t *ctx, json_t *results);
void durable__local_free(struct durable__local *l);

#endif
