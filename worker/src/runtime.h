/* The worker runtime's internals: the async PostgreSQL connection, the
 * worker state shared by the workflow, activity and query pollers. */
#ifndef DURABLE_RUNTIME_H
#define DURABLE_RUNTIME_H

#include <libpq-fe.h>
#include <uv.h>
#include "durable.h"
#include "replay.h"
#include "run.h"

#include "log.h"
#include "codec.h"

/* pgconn.c: one PGconn on a uv_poll_t, one query in flight, a FIFO of the
 * rest. Each query's callback runs exactly once, with the result, or with
 * NULL when the connection broke (the query may or may not have run). */
typedef struct durable__pg durable__pg_t;
typedef void (*durable__pg_cb)(durable__pg_t *pg, PGresult *res, void *arg);
typedef void (*durable__pg_event_cb)(durable__pg_t *pg, const char *channel, void *arg);

/* ready is called (channel NULL) after each (re)connect; notify is called
 * with the channel of each NOTIFY. */
int durable__pg_new(uv_loop_t *loop, const char *dsn, const char *name, durable__pg_event_cb ready,
		    durable__pg_event_cb notify, void *arg, durable__pg_t **out);
int durable__pg_query(durable__pg_t *pg, const char *sql, int nparams, const char *const *params,
		      durable__pg_cb cb, void *arg);
/* A call whose answer is read by column name: what it is called in logs,
 * and every column its readers read (NULL-ended, static). A call marked
 * prepared (the worker's hot calls, sent thousands of times on their
 * connection) is parsed once per connection and then only executed. */
typedef struct {
	const char *name;
	const char *const *columns;
	int prepared;
} durable__pg_reads_t;
/* durable__pg_query for such a call: an answer that lacks one of its columns
 * is logged (the call and the column) and reaches cb as a failed result
 * with no SQLSTATE, so nothing is read from it: the store and the worker
 * disagree (a renamed column), and "" read as every value would pass for an
 * answer. */
int durable__pg_call(durable__pg_t *pg, const durable__pg_reads_t *reads, const char *sql, int nparams,
		     const char *const *params, durable__pg_cb cb, void *arg);
/* The answer a callback reads (pgconn.c sets it around the callback): its
 * call's columns' numbers, found once, for durable__pg_col. begin returns
 * the one it replaces, which end puts back. */
#define DURABLE__PG_READ_MAX 32
typedef struct {
	const PGresult *res;
	const durable__pg_reads_t *reads;
	int ncols;
	int cols[DURABLE__PG_READ_MAX];
} durable__pg_reading_t;
durable__pg_reading_t durable__pg_read_begin(PGresult *res, const durable__pg_reads_t *reads);
/* The first of its call's columns that the answer being read lacks, or
 * NULL: from the numbers begin found (each column is numbered once). */
const char *durable__pg_read_missing(void);
void durable__pg_read_end(durable__pg_reading_t outer);
int durable__pg_busy(durable__pg_t *pg);          /* a query in flight or queued */
int durable__pg_connected(durable__pg_t *pg);
void durable__pg_close(durable__pg_t *pg);        /* fails queued queries, frees after close */
/* "name" quoted as an SQL identifier (malloc'd), or NULL when not connected. */
char *durable__pg_quote_ident(durable__pg_t *pg, const char *name);
/* The SQLSTATE of a failed result, or "" */
const char *durable__pg_sqlstate(PGresult *res);
/* True for an error that says nothing about the query but that the server
 * could not take it now (shutting down, read-only, serialization, a lost
 * connection): worth sending again on the next connection. */
int durable__pg_transient(PGresult *res);
/* The value of column name in row (by name, not position). A column the
 * answer lacks (its call, durable__pg_call, does not name it) or a row it
 * does not have reads as "" and is logged as the bug it is. */
const char *durable__pg_col(PGresult *res, int row, const char *name);
/* 0 for a good result, DURABLE_ELEASE for DU004, DURABLE_EDB otherwise. */
int durable__pg_status(PGresult *res);

typedef struct durable__registered {
	char *name;
	durable_workflow_fn wf;
	durable_activity_fn act;
	void *arg;
	struct durable__registered *next;
} durable__registered_t;

struct durable_worker_s {
	uv_loop_t loop;
	durable_worker_options_t opts;
	char *dsn, *task_queue, *namespace_, *identity, *activities_dir;
	char *build_id;                     /* NULL: an unversioned worker */
	durable__codecs_t codecs;           /* payload codecs (codec.c) */
	durable__registered_t *workflows, *activities;

	durable__pg_t *wf_pg, *act_pg, *q_pg;
	durable__pg_t *done_pg[8];          /* workflow task completions (complete_workflow_tasks) */
	int done_inflight[8];               /* batches sent on each and not answered yet */
	int ndone;
	json_t *wf_outcomes;                /* workflow task outcomes waiting to be sent */
	int wf_batch_max;                   /* items per complete_workflow_tasks call */
	int wf_flushing;                    /* batches in flight on wf_pg (only without done_pg) */
	uv_idle_t flusher;                  /* sends what the current loop iteration queued */
	int flusher_on;
	char wf_channel[128], act_channel[128];
	int wf_polling, wf_again;
	int act_polling, act_again;
	int q_polling;                      /* a query wait or poll in flight on q_pg */
	int q_long_poll;                    /* the store has no wait_for_query_tasks (0.1): long-poll */
	int q_retry;                        /* the last one failed but another may not: the backstop sends it */

	json_t *cache;                      /* cache.c: run_id -> {events, used} */
	size_t cache_events;                /* and the events it holds in all, */
	size_t cache_events_max;            /* at most (DURABLE__CACHE_EVENTS) */
	uint64_t cache_tick;
	/* runs marked dropped while a request named them, forgotten at the
	 * next trim (cache.c); lost: one could not be listed */
	char **cache_dropped;
	size_t cache_ndropped, cache_dropped_cap;
	int cache_dropped_lost;
	/* Requests that name the cache (workflow polls, hand-backs), numbered
	 * as they are sent: cache_requests is the last one's number, and the
	 * poll and hand-back in flight carry theirs (0: numbered by nobody, a
	 * unit test's flag). A run dropped when cache_requests was S (its
	 * cache_dropped_seq) is forgotten once no request numbered S or less
	 * is in flight, whatever was sent since: with the activity outcomes'
	 * own connection a poll and a hand-back overlap most of a burst, and
	 * waiting for neither to be in flight kept every closed run's events. */
	uint64_t *cache_dropped_seq;
	uint64_t cache_requests, wf_poll_named, handback_named;
	struct durable__kept *runs;         /* run_cache.c: runs waiting for their next task */
	int nruns;
	/* tasks that went on from a kept run, or found it overtaken (replayed);
	 * runs evicted to make room */
	uint64_t runs_resumed, runs_overtaken, runs_evicted;
	/* tasks and local rounds that ran the function again from its first
	 * event where a kept run could have gone on (run_cache.c; histories
	 * under KEEP_MIN_EVENTS replay by design and are not counted) */
	uint64_t runs_replayed;
	int running;                        /* activities in flight */
	int eager_offered;                  /* slots offered with completions not answered yet (workflow_outcomes.c) */
	/* The last activity poll got fewer tasks than it asked for (it drained
	 * the queue): completions offer slots only then. While polls come back
	 * full the worker has no slots to spare, new activities would queue
	 * behind the waiting ones anyway (the store takes none eagerly), and an
	 * offer would only hold slots the polls that drain them need. */
	int act_idle;
	struct durable_activity_ctx_s *active;
	json_t *outcomes;                   /* completions waiting to be sent */
	/* A batch of them in flight (one at a time: the next collects), on
	 * act_done_pg, their own connection, so that neither they nor the
	 * polls wait for the other (activity.c); or, while that one is down,
	 * on act_pg in turn with the polls (completing_on_poll). */
	durable__pg_t *act_done_pg;
	int completing, completing_on_poll;
	uv_async_t wakeup;                  /* heartbeats asked for on the loop (an executable's); */
	                                    /* a pool thread's go through activity_pool.c */
	struct durable__pool *pool;         /* activity_pool.c: the threads C activities run on */
	uv_signal_t sigterm, sigint;
	uv_timer_t drain_timer;
	uv_timer_t backstop;   /* re-polls after a quiet spell, in case a wake-up was lost */
	/* A poll the backstop sent after a quiet spell (no notification of its
	 * kind for BACKSTOP_QUIET_MS, none during the poll): work it finds was
	 * ready while the worker did not know, a lost wake-up (wakeups.c). */
	int wf_backstop_poll, act_backstop_poll;
	/* Tasks such a poll found, not yet judged: their notification may
	 * still be on its way (it can arrive just after the poll's answer).
	 * One that arrives before the worker sends its first outcome clears
	 * them; otherwise they count as a lost wake-up. A task the store says
	 * was ready for only a moment (wakeups.c, BACKSTOP_FRESH_MS) is not
	 * kept at all. */
	int wf_unannounced, act_unannounced;
	/* the store has no durable.task_schedule_to_start (0.1): backstop
	 * finds are kept without asking how long they waited */
	int no_schedule_to_start;
	uint64_t wf_notified_ms, act_notified_ms;   /* uv_now() of the last notification */
	/* calls the store refused for lacking them (durable 0.1, during an
	 * upgrade), besides q_long_poll and no_schedule_to_start: the eager
	 * offer and the hand-back, left for the old paths until old_store.c
	 * finds them in the store; and what it found, the store's version
	 * ("" before its first look) */
	int store_no_eager, store_no_handback;
	/* sticky histories (api/82_sticky.sql): the text naming this process
	 * to the store for its lifetime; whether the store lacks them (then
	 * polls name the cached runs), whether the poll in flight sent it, and
	 * the tasks whose whole history was asked for */
	char sticky[300];
	int store_no_sticky, wf_poll_sticky;
	int cache_size_given;               /* --cache was given: kept against any store */
	uint64_t histories_refetched;
	char store_version[64];
	int store_checking;
	/* the last poll of its kind failed with an answer (durable__poll_again) */
	int wf_poll_failed, act_poll_failed;
	uint64_t lost_wakeups;
	int stopping, closed;
	uint64_t workflow_tasks, activity_tasks; /* counters for the exit log */
	/* activity tasks leased with a completion: scheduled by it (eager), or
	 * from the queue's backlog by the poll made with it */
	uint64_t eager_started, eager_polled;
	/* activity outcome batches in flight that offered workflow slots (the
	 * hand-back, activity.c), and the workflow tasks they brought back */
	int handing_back;
	uint64_t handed_back;
	int local_tasks;                    /* workflow tasks running local activities (local_activity.c) */
	struct durable__wtask *wtasks;      /* and those tasks */
	uv_async_t stop_async;              /* another thread asks to stop (durable__worker_stop_async) */
	int stop_async_on;                  /* set (atomically) once stop_async can be sent */
};

/* activity.c */
int durable__activities_init(durable_worker_t *w);
void durable__activities_poll(durable_worker_t *w);
void durable__activities_flush(durable_worker_t *w);
/* Activity slots free for a poll or an eager offer: the limit less what
 * runs, what the poll in flight asked for, what completions offered and
 * the outcomes not sent yet. */
int durable__activity_slots(durable_worker_t *w);
/* Starts the activity task of row i of an answer that leased it. */
void durable__activity_take(durable_worker_t *w, PGresult *res, int i);
void durable__activity_finish(struct durable_activity_ctx_s *a);  /* on the loop */
/* Drops a reference to an activity task; the last one frees it. */
void durable__activity_unref(struct durable_activity_ctx_s *a);
/* Runs a C activity's function (on a pool thread): a->rc, a->result or a->failure. */
void durable__activity_call(struct durable_activity_ctx_s *a);
void durable__activities_wakeup(uv_async_t *h);
/* Sends the heartbeats activities asked for (on the loop). */
void durable__activities_heartbeats(durable_worker_t *w);
durable__registered_t *durable__find(durable__registered_t *list, const char *name);

/* activity_pool.c: the activity threads, at most max_threads, started as
 * needed (start: on the loop, before it runs). submit queues a C activity
 * to run durable__activity_call on one, then durable__activity_finish on
 * the loop (0, or a negative errno when no thread can run it); close
 * detaches the pool from the loop (close_all); free stops the threads
 * (durable_worker_free). */
int durable__pool_start(durable_worker_t *w, int max_threads);
int durable__pool_submit(durable_worker_t *w, struct durable_activity_ctx_s *a);
void durable__pool_close(durable_worker_t *w);
void durable__pool_free(durable_worker_t *w);
extern int durable__pool_orphans;   /* freed pools whose last thread still runs */
/* From an activity's thread: have the loop send its heartbeat. */
void durable__pool_heartbeat(struct durable_activity_ctx_s *a);

/* Starts an activity's code: a registered C function on the thread pool,
 * or an executable of activities_dir. Returns 0, or a negative status with
 * a->rc and a->failure set (nothing runs, the caller finishes it). */
int durable__activity_launch(durable_worker_t *w, struct durable_activity_ctx_s *a);

/* local_activity.c: takes over a workflow task whose replay asked for
 * local activities (requests: DURABLE__LOCAL's list): runs them, replays
 * the task again with their outcomes, and sends what that gives. */
int durable__local_start(durable_worker_t *w, const char *token, const durable__task_t *task, json_t *requests);
void durable__local_abandon(durable_worker_t *w);

/* cache.c */
/* {"<run_id>": last event id, ...} of the cached runs, as text (NULL: no
 * cache, or an empty one) */
char *durable__cache_param(durable_worker_t *w);
json_t *durable__cache_merge(durable_worker_t *w, const char *run_id, json_t *fresh);
void durable__cache_drop(durable_worker_t *w, const char *run_id);
void durable__cache_trim(durable_worker_t *w);
/* Forgets the runs dropped that no request in flight named (part of trim). */
void durable__cache_forget_dropped(durable_worker_t *w);
void durable__cache_free(durable_worker_t *w);   /* the cache and its list of dropped runs */

/* run_cache.c: kept runs (run.c) by run id, at most opts.run_cache; drop
 * frees one. */
void durable__runs_drop(durable_worker_t *w, const char *run_id);
void durable__runs_clear(durable_worker_t *w);
/* Runs a workflow task: its kept run goes on when the cache has one and the
 * new events continue what it saw; otherwise it replays, in a run that is
 * kept when it waits for its next task or its local activities. 0 (out
 * filled), or -ENOMEM. */
int durable__runs_task(durable_worker_t *w, durable_workflow_fn fn, const durable__task_t *task,
		       durable__outcome_t *out);
/* The same for a round of the task's local activities that ended
 * (task->local_results): the kept run takes the outcomes, or the task
 * replays with them. */
int durable__runs_locals(durable_worker_t *w, durable_workflow_fn fn, const durable__task_t *task,
			 durable__outcome_t *out);

/* exec_activity.c: runs DIR/<type> with JSON on stdin; 0 (finished is then
 * called with a, on the loop, once the process and its pipes are done) or a
 * negative error. */
int durable__exec_activity(struct durable_activity_ctx_s *a, const char *path,
			   void (*finished)(struct durable_activity_ctx_s *a));

/* worker.c */
void durable__worker_maybe_done(durable_worker_t *w);
/* wakeups.c: a task queue's connection came (back): LISTEN on its channel,
 * then poll; a notification on it: poll. */
void durable__on_queue_ready(durable__pg_t *pg, const char *channel, void *arg);
void durable__on_queue_notify(durable__pg_t *pg, const char *channel, void *arg);
/* wakeups.c: the timer that polls each kind again after a quiet spell */
void durable__backstop_start(durable_worker_t *w);
/* queries.c: waits for queries (at most one wait in flight), and the
 * queries connection's ready callback, which does the same */
void durable__queries_poll(durable_worker_t *w);
void durable__on_queries_ready(durable__pg_t *pg, const char *channel, void *arg);
/* wakeups.c: called with each poll's answer: when a backstop poll (*flag) found
 * tasks that had waited ready for seconds (column "waited", seconds) or for
 * how long it does not say, keeps them in *unannounced for judging; clears
 * *flag. */
void durable__backstop_found(int *flag, int *unannounced, PGresult *res, const char *kind);
/* old_store.c: the column a backstop poll adds to its select list, for the
 * above, and whether a failed poll failed for it */
const char *durable__backstop_column(durable_worker_t *w, int backstop);
/* Called with a failed poll's answer: 1 when it failed for asking the
 * store what a 0.1 store cannot answer (then it is not asked again). */
int durable__backstop_unsupported(durable_worker_t *w, PGresult *res);
/* old_store.c: whether polls and hand-backs name this process (sticky) rather
 * than the cached runs; and whether res refused a call that sent it
 * because the store is older (the worker then stops sending it) */
#define DURABLE__HISTORY_CACHE_DEFAULT 4096
#define DURABLE__RUN_CACHE_DEFAULT 1024
/* the runs a poll names to a store without sticky histories, at most:
 * each poll's argument, and the store's walk of it, grow with them */
#define DURABLE__OLD_STORE_CACHE 128
/* the events the history cache holds in all, at most (about 1.1 KB of
 * memory each, jansson's tree: docs/sdk.md), whatever --cache says; the
 * run used last is kept even past it */
#define DURABLE__CACHE_EVENTS 100000
int durable__sticky(durable_worker_t *w);
size_t durable__cache_limit(durable_worker_t *w);   /* cache.c */
int durable__sticky_unsupported(durable_worker_t *w, PGresult *res, int sent);
/* Called before the worker sends outcomes of a kind (and at each backstop
 * tick and at the end): tasks still unannounced count as a lost wake-up. */
void durable__wakeup_judge(durable_worker_t *w, int *unannounced, const char *kind);
/* After a poll that failed with an answer: whether to poll again at once.
 * A notification that came during it (notified) is not dropped with it,
 * and a poll refused for a call the store lacks (unsupported) goes again
 * without the call: both go again and start no streak. Otherwise it may
 * have locked ready tasks before it failed, and rolled back: they are
 * ready again, and their notification was spent on it. Once: a poll that
 * fails again (the same error each time) waits for the next notification
 * or the backstop, not a loop. failed is the kind's streak flag, cleared
 * by a good poll. */
int durable__poll_again(int *failed, int notified, int unsupported);
void durable__workflows_poll(durable_worker_t *w);   /* workflow_poll.c */
/* old_store.c, on the backstop tick: while the worker takes an old path for
 * a call the store lacked, whether the store has it now */
void durable__old_store_check(durable_worker_t *w);
/* durable_worker_stop from any thread (the test harness's); -EAGAIN while
 * durable_worker_run has not started the loop yet. */
int durable__worker_stop_async(durable_worker_t *w);
/* Queued outcomes (and an activity poll asked for meanwhile) go out once the
 * callbacks of the current loop iteration have run: whatever finished
 * together is sent together, and nothing waits for a timer. */
void durable__worker_flush_soon(durable_worker_t *w);
/* workflow_task.c: runs the workflow task of row `row` of an answer that
 * leased it, read by column name (task_token, workflow_id, run_id,
 * workflow_type, started_event_id, history): a poll's, or a hand-back's
 * (activity.c). */
void durable__workflow_task_run(durable_worker_t *w, PGresult *res, int row);
/* Queues a replayed workflow task's outcome (commands or failure). */
void durable__workflow_task_send(durable_worker_t *w, const char *token, const durable__task_t *task,
				 durable__outcome_t *out);
/* workflow_outcomes.c: queues a workflow task's outcome item ({task_token, commands}
 * or {task_token, cause, failure}; NULL: out of memory, logged) for the
 * next complete_workflow_tasks batch. */
void durable__workflow_outcome_queue(durable_worker_t *w, json_t *item, const char *token);
/* Sends what is queued: a partial batch only when none is in flight (it
 * collects what finishes meanwhile), a full one on any free connection. */
void durable__workflow_outcomes_flush(durable_worker_t *w);

struct durable_activity_ctx_s {
	durable_worker_t *w;
	struct durable_activity_ctx_s *pool_next;   /* activity_pool.c's queues */
	struct durable__pool *threads;              /* the pool it runs on (outlives w when orphaned) */
	char *token, *workflow_id, *activity_id, *type;
	int attempt;
	double deadline_s;                  /* seconds left when started, 0 = unknown */
	json_t *input, *last_details;
	durable__registered_t *reg;
	int rc;
	json_t *result, *failure;           /* owned */
	json_t *pool;                       /* owned: durable_activity_json/keep values */
	char *json_error;                   /* a durable_activity_json/keep that failed */
	uv_mutex_t mu;                      /* guards the heartbeat fields */
	json_t *hb_details;
	int hb_pending, hb_inflight, cancel;
	int paused;                         /* an operator paused it (pause_activity) */
	void *exec;                         /* exec_activity.c's state */
	int refs;                           /* the run, and a heartbeat in flight */
	struct durable_activity_ctx_s *next;
	/* a local activity's attempt: called on the loop when it ends, instead
	 * of reporting an activity task; with its state */
	void (*on_done)(struct durable_activity_ctx_s *a);
	void *local;
};

#endif
