/* libdurable: write durable workflows and activities in C, run them in a worker.
 *
 * A workflow is a plain C function that the worker re-executes from the start
 * on every workflow task, over the workflow's recorded history. Calls that
 * would block (an activity, a timer, a signal, a child) return the recorded
 * outcome when the history has it; otherwise they record a command and return
 * DURABLE_BLOCKED, which the workflow hands back up with DURABLE_TRY so that
 * the function returns and the worker sends the new commands.
 *
 * Conventions (libuv style):
 *  - every call returns 0 or a negative error code (DURABLE_E*, or -errno);
 *  - no global state: everything hangs off a durable_worker_t or a context.
 *
 * JSON ownership, one rule: libdurable never takes a reference from you and
 * never gives you one.
 *  - Every json_t * you hand to libdurable is borrowed: call arguments, a
 *    workflow's *output, an activity's *result, a query's *answer, a side
 *    effect's value, heartbeat details, handler state. The library takes its
 *    own reference, or a copy where it sends the value later (commands,
 *    heartbeats), so changing a value after the call changes nothing sent;
 *    query and update state are kept by reference on purpose (the workflow
 *    keeps updating them). NULL means JSON null.
 *  - Every json_t * libdurable hands you belongs to the context: a
 *    workflow's input, results, payloads, failures live until the workflow
 *    task ends; an activity's input until the activity returns. Pass them
 *    on, return them, or put parts of them in other values, freely.
 *  - To build a value, use durable_json(ctx, fmt, ...) (json_pack's format;
 *    in an activity durable_activity_json(actx, ...)): the context owns the
 *    result, so a temporary passed straight into a call never leaks. A value
 *    you built with jansson yourself you either hand over with
 *    durable_keep(ctx, v) (durable_activity_keep) or json_decref yourself.
 * DURABLE_API_VERSION is 2 since this rule; version 1 (release 0.1) stole
 * arguments and outputs: docs/sdk.md says what to change.
 */
#ifndef DURABLE_H
#define DURABLE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: JSON arguments and outputs are borrowed (1, release 0.1: stolen). */
#define DURABLE_API_VERSION 2

/* Status codes. Below -10000 so they never collide with -errno. */
enum {
	DURABLE_OK = 0,
	DURABLE_BLOCKED = -10001,      /* not in the history yet: return and let the worker continue later */
	DURABLE_EFAILED = -10002,      /* an activity, child or the workflow failed; see durable_failure() */
	DURABLE_ECANCELED = -10003,    /* canceled (the workflow's cancellation, or the awaited thing) */
	DURABLE_ETIMEDOUT = -10004,    /* a wait's timeout fired, or an activity timed out */
	DURABLE_ENONDET = -10005,      /* the code issued other commands than the history recorded */
	DURABLE_ECONTINUED = -10006,   /* durable_continue_as_new() was called: return it */
	DURABLE_ENOTFOUND = -10007,    /* unknown workflow/activity type, no such signal pending */
	DURABLE_EAGAIN = -10008,       /* nothing there yet (non-blocking calls) */
	DURABLE_ELEASE = -10009,       /* the server says our lease on a task was lost */
	DURABLE_EDB = -10010,          /* a database error */
	DURABLE_EALREADY = -10011,     /* a child workflow with that id is already running */
	DURABLE_ECODEC = -10020,       /* a payload could not be encoded or decoded (PayloadCodecError) */
};

/* Hands a negative status to the caller. Use it around every durable_* call
 * inside a workflow whose failure should end the workflow. */
#define DURABLE_TRY(expr)                                                      \
	do {                                                                   \
		int durable__rc_ = (expr);                                     \
		if (durable__rc_ < 0)                                          \
			return durable__rc_;                                   \
	} while (0)

/* True for statuses a workflow must return at once instead of handling
 * (blocked, non-determinism, worker errors such as -ENOMEM): use it before
 * compensating, e.g. `if (DURABLE_STOPPED(rc)) return rc;`. */
#define DURABLE_STOPPED(rc)                                                    \
	((rc) == DURABLE_BLOCKED || (rc) == DURABLE_ENONDET || ((rc) < 0 && (rc) > -10000))

const char *durable_strerror(int status);

/* ------------------------------------------------------------------ */
/* Workflows                                                            */

typedef struct durable_ctx_s durable_ctx_t;
typedef struct durable_future_s durable_future_t;    /* owned by the context */

/* A workflow: read input (the context's), set *output (borrowed; NULL =
 * null) and return 0 to complete; return a negative status to block, fail
 * or cancel. */
typedef int (*durable_workflow_fn)(durable_ctx_t *ctx, json_t *input, json_t **output);

typedef struct {
	double initial_interval;        /* seconds; 0 = server default (1 s) */
	double backoff_coefficient;     /* 0 = 2.0 */
	double maximum_interval;        /* 0 = 100 x initial */
	int maximum_attempts;           /* 0 = unlimited */
	const char *const *non_retryable_error_types;  /* NULL-terminated, or NULL */
} durable_retry_policy_t;

/* What cancelling an activity or child does: durable_future_cancel, or the
 * workflow's own cancellation reaching a wait on it. Temporal's types. */
typedef enum {
	DURABLE_CANCEL_DEFAULT = 0,    /* activities: TRY_CANCEL; children: WAIT_CANCELLATION_COMPLETED */
	DURABLE_CANCEL_TRY_CANCEL,     /* ask it to cancel; the future resolves DURABLE_ECANCELED at once */
	/* ask it to cancel; the future resolves when the activity or child has
	 * really ended, with that outcome (canceled, completed, failed, timed out) */
	DURABLE_CANCEL_WAIT_CANCELLATION_COMPLETED,
	DURABLE_CANCEL_ABANDON,        /* do not tell it; the future resolves DURABLE_ECANCELED at once */
	/* children only: ask it to cancel; the future resolves DURABLE_ECANCELED
	 * once the child has been told (or with its outcome, if it ended first) */
	DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED,
} durable_cancellation_type_t;

typedef struct {
	const char *task_queue;          /* NULL = the workflow's own queue */
	double schedule_to_close_timeout; /* seconds, 0 = unset */
	double schedule_to_start_timeout;
	double start_to_close_timeout;   /* if both this and schedule_to_close are 0: 300 s */
	double heartbeat_timeout;
	durable_retry_policy_t retry;
	/* who the activity is for (a tenant, a customer): the task queue's
	 * per-key limits (durable.set_task_queue_limits) count it under this
	 * key, and keys share the queue in proportion to their weights;
	 * NULL = the workflow's */
	const char *fairness_key;
	durable_cancellation_type_t cancellation_type;   /* 0 = TRY_CANCEL */
	/* 1 (served first) to 5; 0 = the workflow's (3 unless it was started
	 * with another). Outside 0-5: -EINVAL. */
	int priority;
	/* this key's share against other keys' (0.001 to 1000); 0 = the
	 * workflow's (1 unless started with another). Otherwise: -EINVAL. */
	double fairness_weight;
} durable_activity_options_t;

typedef struct {
	const char *workflow_id;         /* NULL = "<parent id>-child-<n>" */
	const char *task_queue;          /* NULL = the parent's queue */
	const char *parent_close_policy; /* TERMINATE (default), ABANDON, REQUEST_CANCEL */
	double execution_timeout;        /* seconds, 0 = none */
	durable_cancellation_type_t cancellation_type;   /* 0 = WAIT_CANCELLATION_COMPLETED */
	/* as in durable_activity_options_t: 0 / NULL = the parent's */
	int priority;
	const char *fairness_key;
	double fairness_weight;
	/* the child's workflow retry policy: a failed attempt (or one past its
	 * run timeout) is retried as a new run of the child, and the parent sees
	 * only the last attempt's outcome; NULL = none, a failure is final */
	const durable_retry_policy_t *retry_policy;
} durable_child_options_t;

/* JSON the context owns (released when the workflow task ends): json_pack's
 * format and arguments ("O" adds a reference, "o" hands one over). On a bad
 * format or out of memory it returns NULL, logs why, and every further call
 * returns -EINVAL or -ENOMEM, so the task fails instead of sending null. */
json_t *durable_json(durable_ctx_t *ctx, const char *fmt, ...);
/* Hands value (a reference you own) to the context and returns it. */
json_t *durable_keep(durable_ctx_t *ctx, json_t *value);

/* Facts about the run. */
const char *durable_workflow_id(durable_ctx_t *ctx);
const char *durable_run_id(durable_ctx_t *ctx);
const char *durable_workflow_type(durable_ctx_t *ctx);
/* The run's attempt under a workflow retry policy: 1 for a first run (and
 * for a run continued as new), 2 for the first retry, and so on. */
int durable_workflow_attempt(durable_ctx_t *ctx);
/* True while re-executing code whose commands are already in the history:
 * use it to silence logs, never to change what the workflow does. */
int durable_is_replaying(durable_ctx_t *ctx);

/* Deterministic time and randomness. */
int64_t durable_now(durable_ctx_t *ctx);                   /* ms since the epoch */
uint64_t durable_random(durable_ctx_t *ctx);               /* seeded from the run id */
void durable_uuid(durable_ctx_t *ctx, char out[37]);

/* Activities. durable_activity() waits; _start() returns a future. */
int durable_activity(durable_ctx_t *ctx, const char *type, json_t *input,
		     const durable_activity_options_t *opts, json_t **result);
int durable_activity_start(durable_ctx_t *ctx, const char *type, json_t *input,
			   const durable_activity_options_t *opts, durable_future_t **f);

/* Local activities: short activities this worker runs itself, in the same
 * process, while it holds the workflow task: no activity task, no round
 * trip through the task queue. The outcome is recorded in the history as
 * a MarkerRecorded "LocalActivity" event (result or failure, attempt) when
 * the workflow task completes; a replay reads the marker and never runs
 * the code again. The type is looked up among the registered activities
 * (durable_worker_register_activity), then among the executables of
 * activities_dir. At least once: a worker that dies before the task
 * completes leaves no marker, and the next worker runs the activity again.
 * Attempts are retried in the worker with the retry policy; a backoff
 * longer than local_retry_threshold is waited with a durable timer (the
 * failed attempt's marker records it), then the next attempt runs. While
 * local activities run, the worker extends the workflow task's lease. See
 * docs/sdk.md, "Local activities". */
typedef struct {
	double schedule_to_close_timeout; /* seconds for every attempt and backoff together, 0 = unset */
	double start_to_close_timeout;    /* seconds per attempt; if both are 0: 60 s */
	durable_retry_policy_t retry;     /* as for activities (Temporal's defaults) */
	double local_retry_threshold;     /* seconds: longer backoffs use a timer; 0 = 60 s */
} durable_local_activity_options_t;

/* input and result are borrowed (the rule above); DURABLE_EFAILED with the
 * last attempt's failure, DURABLE_ETIMEDOUT when a timeout ended it. */
int durable_local_activity(durable_ctx_t *ctx, const char *type, json_t *input,
			   const durable_local_activity_options_t *opts, json_t **result);
/* A future: local activities started together run in parallel. */
int durable_local_activity_start(durable_ctx_t *ctx, const char *type, json_t *input,
				 const durable_local_activity_options_t *opts, durable_future_t **f);

/* Timers. */
int durable_sleep(durable_ctx_t *ctx, double seconds);
int durable_timer_start(durable_ctx_t *ctx, double seconds, durable_future_t **f);

/* Child workflows. durable_child_id gives "<this workflow's id>-<fmt...>"
 * for durable_child_options_t.workflow_id, kept by the context until the
 * workflow task ends (NULL on out of memory; the next call then fails). */
const char *durable_child_id(durable_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int durable_child(durable_ctx_t *ctx, const char *type, json_t *input,
		  const durable_child_options_t *opts, json_t **result);
int durable_child_start(durable_ctx_t *ctx, const char *type, json_t *input,
			const durable_child_options_t *opts, durable_future_t **f);

/* Futures: wait for one, all, or the first of several (by history order). */
int durable_future_get(durable_ctx_t *ctx, durable_future_t *f, json_t **result);
int durable_future_is_ready(durable_ctx_t *ctx, durable_future_t *f);
int durable_wait_all(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n);
int durable_wait_any(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n, size_t *index);
/* Cancels a pending timer, activity or child (no-op once it finished), as
 * its cancellation type says: the future resolves DURABLE_ECANCELED at once,
 * or later (the WAIT_ types), as durable_cancellation_type_t says. */
int durable_future_cancel(durable_ctx_t *ctx, durable_future_t *f);

/* Signals. await waits up to timeout seconds (< 0: forever) and returns
 * DURABLE_ETIMEDOUT when the time is up; receive never waits. */
int durable_await_signal(durable_ctx_t *ctx, const char *name, double timeout, json_t **payload);
int durable_signal_receive(durable_ctx_t *ctx, const char *name, json_t **payload);
/* A future for the next signal called name, to wait for it together with
 * activities, timers and children (durable_wait_any as a selector); its
 * result is the payload. The signal is taken when a wait returns the future. */
int durable_signal_future(durable_ctx_t *ctx, const char *name, durable_future_t **f);
/* Signals (asks to cancel) another workflow and waits until
 * the store has delivered it: 0, or DURABLE_EFAILED when no workflow of that
 * id is running (durable_failure(): type EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND).
 * The outcome is in the history, so the wait costs one workflow task. The
 * _start forms return a future for it instead (result: null). */
int durable_signal_external(durable_ctx_t *ctx, const char *workflow_id, const char *name, json_t *input);
int durable_signal_external_start(durable_ctx_t *ctx, const char *workflow_id, const char *name, json_t *input,
				  durable_future_t **f);
int durable_cancel_external(durable_ctx_t *ctx, const char *workflow_id);
int durable_cancel_external_start(durable_ctx_t *ctx, const char *workflow_id, durable_future_t **f);

/* Cancellation: waits return DURABLE_ECANCELED once, when the workflow's
 * cancellation becomes visible; afterwards the workflow may run compensation
 * activities and then return DURABLE_ECANCELED to close as CANCELED. */
int durable_cancel_requested(durable_ctx_t *ctx);

/* Sagas: compensation without bookkeeping, on failure or cancellation.
 * As each step succeeds, add the activity that undoes it; when a later step
 * ends with a status rc, durable_saga_compensate(saga, rc) runs the
 * compensations newest first and returns what the workflow returns:
 *  - rc itself at once when DURABLE_STOPPED(rc) (blocked: nothing to undo yet);
 *  - DURABLE_ECANCELED when the workflow was asked to cancel (it closes
 *    CANCELED), else rc, with durable_failure() the failure that ended the
 *    steps;
 *  - DURABLE_EFAILED with a CompensationFailed failure ("compensation T
 *    failed: ...", the steps' failure as its cause) when a compensation
 *    failed for good; the others still run.
 * Compensations run shielded from the workflow's cancellation: a cancel that
 * arrives meanwhile neither interrupts nor abandons them. input is copied;
 * opts is copied, the strings it points to must live until the compensation
 * runs (literals do). The saga belongs to the context (NULL on out of
 * memory: then its calls return -ENOMEM). */
typedef struct durable_saga_s durable_saga_t;
durable_saga_t *durable_saga(durable_ctx_t *ctx);
int durable_saga_add(durable_saga_t *saga, const char *activity_type, json_t *input,
		     const durable_activity_options_t *opts);
int durable_saga_compensate(durable_saga_t *saga, int rc);

/* Failures: the failure (a JSON object {message, type, ...}) behind
 * the last DURABLE_EFAILED/ETIMEDOUT/ECANCELED, or NULL. */
json_t *durable_failure(durable_ctx_t *ctx);
/* Sets the workflow's failure and returns DURABLE_EFAILED: return durable_fail(...). */
int durable_fail(durable_ctx_t *ctx, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Ends this run and starts a new one with input: return its value. */
int durable_continue_as_new(durable_ctx_t *ctx, json_t *input);

/* Side effects (run once, recorded in a marker) and versioning. */
/* fn returns the value to record (borrowed: build it with durable_json). */
typedef json_t *(*durable_side_effect_fn)(durable_ctx_t *ctx, void *arg);
int durable_side_effect(durable_ctx_t *ctx, durable_side_effect_fn fn, void *arg, json_t **result);
#define DURABLE_DEFAULT_VERSION (-1)
int durable_get_version(durable_ctx_t *ctx, const char *change_id, int min_supported, int max_supported,
			int *version);
int durable_upsert_search_attributes(durable_ctx_t *ctx, json_t *attrs);

/* Queries: answered by re-running the workflow over its history. A handler
 * gets the state object the workflow registered (a JSON value the workflow
 * keeps updating; the context holds a reference) and the query's args, and
 * sets *answer (borrowed: build it with durable_json(ctx, ...)).
 * With fn NULL, the query answers with a copy of state. */
typedef int (*durable_query_fn)(durable_ctx_t *ctx, json_t *state, json_t *args, json_t **answer);
int durable_set_query_handler(durable_ctx_t *ctx, const char *name, durable_query_fn fn, json_t *state);
/* Shorthand: query `name` answers with `value`, the latest set. */
int durable_set_query_value(durable_ctx_t *ctx, const char *name, json_t *value);

/* Updates: a request into the running workflow that returns a result
 * (durable.update_workflow, the mount's updates/<name>). While the workflow
 * has a handler set for `name`, an update is validated on a worker against
 * the workflow's current state: validate(state, args, reason, size) returns
 * 0 to accept, or a negative status with a reason written to reject; a
 * rejected update is never recorded. validate NULL accepts every update;
 * with no handler set, updates of that name are rejected. The context
 * holds a reference to state, like a query handler's.
 * An accepted update reaches the workflow like a signal: await or receive
 * it by name, do the work (activities, timers, signals...), then complete
 * it once with a result or fail it; its caller gets that. */
typedef int (*durable_update_validator_fn)(json_t *state, json_t *args, char *reason, size_t reason_size);
int durable_set_update_handler(durable_ctx_t *ctx, const char *name, durable_update_validator_fn validate,
			       json_t *state);
/* update_id and args (both the context's) of the next
 * accepted update called name; timeout as for durable_await_signal. */
int durable_await_update(durable_ctx_t *ctx, const char *name, double timeout, const char **update_id,
			 json_t **args);
int durable_update_receive(durable_ctx_t *ctx, const char *name, const char **update_id, json_t **args);
/* A future for the next update called name (to wait for it together with
 * activities, timers, signals); its result is an object with "update_id"
 * and "input" (the args). */
int durable_update_future(durable_ctx_t *ctx, const char *name, durable_future_t **f);
int durable_complete_update(durable_ctx_t *ctx, const char *update_id, json_t *result);
int durable_fail_update(durable_ctx_t *ctx, const char *update_id, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Workflow-aware logging: silent while replaying. The line goes to the log
 * handler (below) at level INFO as "workflow <id>: <message>". */
void durable_log(durable_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where libdurable's log goes: fn(level, message, arg) for each line, level
 * "DEBUG" (only with DURABLE_LOG=debug), "INFO", "WARN" or "ERROR", message
 * without a newline. The default (fn NULL) writes
 * "<UTC time> durable-worker[<pid>] <level> <message>" lines to stderr.
 * Process-wide: set it before running workers. fn may be called from any
 * thread of the library, one line at a time per thread. */
typedef void (*durable_log_fn)(const char *level, const char *message, void *arg);
void durable_set_log_handler(durable_log_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Activities                                                           */

typedef struct durable_activity_ctx_s durable_activity_ctx_t;

/* Runs on a thread-pool thread: no loop access. Return 0 with *result
 * (borrowed) set, or durable_activity_fail(...). */
typedef int (*durable_activity_fn)(durable_activity_ctx_t *actx, json_t *input, json_t **result, void *arg);

const char *durable_activity_type(durable_activity_ctx_t *actx);
const char *durable_activity_workflow_id(durable_activity_ctx_t *actx);
const char *durable_activity_id(durable_activity_ctx_t *actx);
int durable_activity_attempt(durable_activity_ctx_t *actx);
json_t *durable_activity_heartbeat_details(durable_activity_ctx_t *actx);  /* the last attempt's */
/* JSON the activity's context owns until the activity returns: as
 * durable_json and durable_keep (NULL on a bad format or out of memory; the
 * activity then fails with a JsonError however it returns). */
json_t *durable_activity_json(durable_activity_ctx_t *actx, const char *fmt, ...);
json_t *durable_activity_keep(durable_activity_ctx_t *actx, json_t *value);
/* Records progress (a copy of details is sent). Returns 1 when the workflow
 * asked to cancel this activity (stop and return DURABLE_ECANCELED),
 * DURABLE_HEARTBEAT_PAUSED when an operator paused it (stop if you can and
 * return DURABLE_ECANCELED: the attempt fails as ActivityPaused and is
 * retried once the activity is unpaused; or finish, and the result counts),
 * else 0. Both are what the previous heartbeat learned from the store. */
#define DURABLE_HEARTBEAT_PAUSED 2
int durable_heartbeat(durable_activity_ctx_t *actx, json_t *details);
int durable_activity_fail(durable_activity_ctx_t *actx, const char *type, int non_retryable,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* The worker                                                           */

typedef struct durable_worker_s durable_worker_t;

typedef struct {
	const char *dsn;               /* NULL/"" = libpq's PG* environment */
	const char *task_queue;        /* required */
	const char *namespace_;        /* NULL = "default" */
	const char *identity;          /* NULL = host:pid */
	const char *activities_dir;    /* executables named by activity type, or NULL */
	int max_concurrent_activities; /* 0 = 16 */
	int max_workflow_batch;        /* 0 = 32 */
	/* runs whose history is kept between tasks, so that a task brings only
	 * its new events (the store remembers which it sent this worker
	 * process: sticky histories): 0 = 4096 (128 against a store without
	 * sticky histories, whose polls name every run kept), < 0 = none */
	int history_cache;
	int completion_connections;    /* 0 = 2: connections that complete workflow tasks in parallel (max 8) */
	int no_workflows;              /* 1: poll only activity tasks */
	int no_activities;             /* 1: poll only workflow tasks */
	int completion_batch;          /* 0 = 64: workflow task outcomes per complete_workflow_tasks call (max 64) */
	/* the build of the code this worker runs (a release tag, a commit id):
	 * a task queue versioned with durable.set_build_id_rules gives this
	 * worker only the workflow tasks of runs on this build; NULL = none */
	const char *build_id;
	/* a key file for durable_codec_key_file: payloads are encrypted before
	 * they reach the store; NULL = no codec (encoded payloads then fail) */
	const char *codec_key_file;
	/* runs whose workflow function is kept waiting between their tasks,
	 * so that a task runs only what its new events bring instead of
	 * replaying the whole history: 0 = 1024 (each holds its own stack),
	 * < 0 = none (every task replays); never more than history_cache */
	int run_cache;
	/* 1: activities this worker's workflow tasks schedule on its own queue
	 * wait for its activity poll. 0 (the default): each completion offers
	 * the free activity slots, and the store leases such activities to this
	 * worker within the completion (eager execution, docs/sdk.md) */
	int no_eager_activities;
	/* 1: the workflow tasks this worker's activity outcomes make ready
	 * wait for its workflow poll. 0 (the default): each batch of outcomes
	 * offers free workflow slots, and the store leases such tasks to this
	 * worker within the completion (the hand-back, docs/sdk.md) */
	int no_handback;
} durable_worker_options_t;

int durable_worker_new(const durable_worker_options_t *opts, durable_worker_t **out);
int durable_worker_register_workflow(durable_worker_t *w, const char *type, durable_workflow_fn fn);
int durable_worker_register_activity(durable_worker_t *w, const char *type, durable_activity_fn fn, void *arg);
/* Runs until durable_worker_stop() or SIGTERM/SIGINT, then drains running
 * activities and returns 0. */
int durable_worker_run(durable_worker_t *w);
/* Drains and stops; call it on the loop thread (SIGTERM and SIGINT are
 * already handled that way). A second call stops at once. */
void durable_worker_stop(durable_worker_t *w);
void durable_worker_free(durable_worker_t *w);

/* The replay check before a deploy: replays one recorded history (NDJSON,
 * one event per line, as the mount's history file and durable.get_history
 * give) against the registered workflows, as the run's next workflow task
 * would be. Returns 0 when the code still fits the history;
 * DURABLE_ENONDET when it does not (err names the first event that no
 * longer matches, as the live NON_DETERMINISTIC_ERROR does); DURABLE_EFAILED
 * when the task would fail otherwise (e.g. an unregistered workflow type);
 * -errno or -EINVAL when the file cannot be read as a history. A run id in
 * the path (runs/<run_id>/history, <run_id>.ndjson) seeds durable_random()
 * as the live run did; without one, the history's first run id does. */
int durable_worker_replay_file(durable_worker_t *w, const char *path, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Payload codecs                                                       */

/* A codec encodes the payloads a worker sends (workflow and activity
 * inputs and results, signal, update and child inputs, query answers,
 * heartbeat details, marker values, the details of failures) before they
 * reach the store, and decodes them when they come back, so the store
 * keeps only what the codec makes of them (ciphertext, compressed data).
 * An encoded payload is a JSON object
 *     {"_durable_codec": "<codec name>", <the codec's own members>}
 * so the store still holds valid jsonb. Left as they are: failure messages
 * and types (the store matches retry policies on types), search attributes
 * and memo (the store indexes them), ids, names and timers. The worker
 * decodes every encoded payload it is handed, wherever it is; one whose
 * codec or key it lacks fails the task as PayloadCodecError (a workflow
 * task is retried, so a worker that has the key takes it).
 *
 * encode gets the payload's compact JSON text and fills encoded, an object
 * whose "_durable_codec" member the library has set already (add members
 * with json_object_set_new). decode gets such an object and writes the JSON
 * text back: *text is malloc'd, the library frees it. Both return 0, or a
 * negative status with a one-line reason in err. They run on the loop
 * thread and on activity threads at once: keep them thread-safe. */
typedef struct {
	const char *name;              /* "_durable_codec" value: [a-z0-9_-], at most 64 bytes */
	int (*encode)(void *arg, const char *text, size_t len, json_t *encoded, char *err, size_t errlen);
	int (*decode)(void *arg, const json_t *encoded, char **text, size_t *len, char *err, size_t errlen);
	void (*free)(void *arg);       /* called when the worker is freed; may be NULL */
	void *arg;
} durable_codec_t;

#define DURABLE_CODEC_FIELD "_durable_codec"

/* Adds a codec (the worker copies the struct and calls free with arg when
 * it is freed, even when this fails). The last one added encodes; each
 * decodes its own payloads, whichever encoded them. */
int durable_worker_add_codec(durable_worker_t *w, const durable_codec_t *codec);

/* The codec durable ships: XChaCha20-Poly1305 (libsodium) with keys from a
 * file, one "<key id> <base64 of 32 bytes>" per line ('#' starts a comment).
 * The last key encodes; every key of the file decodes, so keys rotate by
 * appending a line (durable-codec keygen). Payloads look like
 * {"_durable_codec": "xchacha20poly1305", "key": "<id>", "data": "<base64>"}.
 * The file must not be readable by group or others. Fills *codec; on error
 * returns DURABLE_ECODEC or -errno with the reason in err. */
int durable_codec_key_file(const char *path, durable_codec_t *codec, char *err, size_t errlen);

/* A plugin (.so) exports this; durable-worker calls it after dlopen. */
typedef int (*durable_plugin_init_fn)(durable_worker_t *w);
#define DURABLE_PLUGIN_INIT "durable_plugin_init"

#ifdef __cplusplus
}
#endif
#endif
