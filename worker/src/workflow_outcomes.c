/* A workflow task's outcome, queued and sent with others in batches
 * (complete_workflow_tasks), and the store's answer per item. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_text.h"
#include "runtime.h"

/* Outcomes of workflow tasks are queued and sent with complete_workflow_tasks,
 * up to wf_batch_max per call, each call one transaction (one WAL flush, one
 * turn at the NOTIFY queue's lock) on one of the completion connections.
 * Group commit: when no batch is in flight, what is queued leaves once the
 * current loop iteration's callbacks have run (so a lone outcome goes at
 * once, and the tasks of one poll go together); while one is in flight, the
 * next one collects, and leaves when it is answered or full (a full batch
 * takes any free connection). The store answers per item, in order:
 * COMPLETED, FAILED, LEASE_LOST, INVALID or DENIED (which changed nothing for that
 * task). A batch that deadlocks (40P01) or fails to serialize (40001) is sent
 * again; one that fails otherwise is sent again one item at a time; one
 * whose connection broke is queued again (if it had committed, each item
 * comes back LEASE_LOST, harmlessly). */

#define WF_BATCH_SQL "SELECT task_token, outcome, error FROM durable.complete_workflow_tasks($1::jsonb, $2)"
/* Eager execution: the batch offers the worker's free activity slots, and
 * the store answers, after the outcome rows (kind workflow_task), one row
 * per activity it leased to this worker (kind activity_task), which starts
 * at once as if polled. Read by column name. */
#define WF_BATCH_EAGER_SQL \
	"SELECT kind, task_token, outcome, error, workflow_id, activity_id, activity_type, input, attempt, " \
	"extract(epoch FROM deadline - durable.now()) AS seconds_left, heartbeat_details " \
	"FROM durable.complete_workflow_tasks_eager($1::jsonb, $2, $3, $4::int, $5)"
static const durable__pg_reads_t wf_batch_reads = {
	"durable.complete_workflow_tasks", (const char *const[]){"task_token", "outcome", "error", NULL}, 1};
static const durable__pg_reads_t wf_batch_eager_reads = {
	"durable.complete_workflow_tasks_eager",
	(const char *const[]){"kind", "task_token", "outcome", "error", "workflow_id", "activity_id", "activity_type",
			      "input", "attempt", "seconds_left", "heartbeat_details", NULL},
	1};
#define WF_BATCH_RETRIES 10   /* a batch that deadlocks (40P01) or fails to serialize (40001) */

typedef struct {
	durable_worker_t *w;
	int slot;                  /* index in done_pg, or -1 for wf_pg */
	int attempts;
	int offered;               /* activity slots offered (eager execution), held until the answer */
	json_t *sent;              /* the items, in order */
} wf_batch_t;


static durable__pg_t *slot_pg(durable_worker_t *w, int slot)
{
	return slot < 0 ? w->wf_pg : w->done_pg[slot];
}

/* Puts items back at the head of the queue, in their order. */
static void requeue(durable_worker_t *w, json_t *items)
{
	json_t *all = json_copy(items);
	if (!all || json_array_extend(all, w->wf_outcomes) < 0) {
		json_decref(all);
		json_array_extend(w->wf_outcomes, items);   /* order matters less than keeping them */
		return;
	}
	json_decref(w->wf_outcomes);
	w->wf_outcomes = all;
}

static void log_dropped(json_t *items, const char *why)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		durable__log("ERROR", "workflow task %s: completion failed: %s",
			     json_string_value(json_object_get(it, "task_token")), why);
}

static void on_wf_batch(durable__pg_t *pg, PGresult *res, void *arg);

/* The activities the items schedule on this worker's queue: what an eager
 * offer needs, so that one batch does not hold slots another could use. */
static int own_activities(durable_worker_t *w, json_t *items)
{
	size_t i, j;
	json_t *it, *cmd;
	int n = 0;
	json_array_foreach(items, i, it) {
		json_array_foreach(json_object_get(it, "commands"), j, cmd) {
			const char *type = json_string_value(json_object_get(cmd, "type")),
				   *queue = json_string_value(json_object_get(cmd, "task_queue"));
			if (type && strcmp(type, "ScheduleActivityTask") == 0 && (!queue || strcmp(queue, w->task_queue) == 0))
				n++;
		}
	}
	return n;
}

/* Sends a batch; it is the caller's to free on failure. */
static int send_batch(durable_worker_t *w, int slot, json_t *items, int attempts)
{
	wf_batch_t *b = malloc(sizeof(*b));
	char *body = durable__json_text(items), slots[16];
	/* A stopping worker takes no new activities; one that does not run
	 * activities, or was told not to, offers nothing. */
	int offer = w->opts.no_eager_activities || w->store_no_eager || w->opts.no_activities || !w->act_pg ||
			    w->stopping || !w->act_idle
			    ? 0 : durable__activity_slots(w);
	int wanted = offer > 0 ? own_activities(w, items) : 0;
	offer = offer < wanted ? offer : wanted;
	offer = offer < 0 ? 0 : offer > 1000 ? 1000 : offer;
	snprintf(slots, sizeof(slots), "%d", offer);
	const char *p[] = {body, w->identity, w->task_queue, slots, w->namespace_};
	if (b) {
		b->w = w;
		b->slot = slot;
		b->attempts = attempts;
		b->offered = offer;
		b->sent = json_incref(items);
	}
	if (!b || !body ||
	    durable__pg_call(slot_pg(w, slot), offer ? &wf_batch_eager_reads : &wf_batch_reads,
			     offer ? WF_BATCH_EAGER_SQL : WF_BATCH_SQL, offer ? 5 : 2, p, on_wf_batch, b) < 0) {
		if (b)
			json_decref(b->sent);
		free(b);
		free(body);
		return -ENOMEM;
	}
	free(body);
	w->eager_offered += offer;
	if (slot >= 0)
		w->done_inflight[slot]++;
	else
		w->wf_flushing++;
	return 0;
}

static void on_wf_batch(durable__pg_t *pg, PGresult *res, void *arg)
{
	wf_batch_t *b = arg;
	durable_worker_t *w = b->w;
	size_t n = json_array_size(b->sent);
	w->eager_offered -= b->offered;
	if (b->slot >= 0)
		w->done_inflight[b->slot]--;
	else
		w->wf_flushing--;
	int st = durable__pg_status(res);
	const char *state = durable__pg_sqlstate(res);
	if (!res) {
		/* The connection broke: send them again, on whichever connection
		 * comes back first. A batch that did commit is refused per task
		 * (LEASE_LOST), harmlessly. */
		if (!w->closed)
			requeue(w, b->sent);
	} else if (st < 0 && strcmp(state, "42883") == 0 && b->offered > 0) {
		/* a store older than eager execution (durable 0.1, during an
		 * upgrade): complete as before from now on */
		durable__log("INFO", "the store has no complete_workflow_tasks_eager (durable before 0.2): "
			     "activities go through the poll");
		w->store_no_eager = 1;
		if (send_batch(w, b->slot, b->sent, b->attempts) < 0)
			log_dropped(b->sent, "out of memory");
	} else if (st < 0 && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) &&
		   b->attempts < WF_BATCH_RETRIES) {
		durable__log("INFO", "complete_workflow_tasks: %s (SQLSTATE %s), sending the %zu outcomes again",
			     PQresultErrorMessage(res), state, n);
		if (send_batch(w, b->slot, b->sent, b->attempts + 1) < 0)
			log_dropped(b->sent, "out of memory");
	} else if (st < 0 && n > 1) {
		/* Not an item's fault the store could pin (those come back per
		 * item): one at a time, so only the culprit fails. */
		durable__log("WARN", "complete_workflow_tasks failed for %zu outcomes, sending them one by one: %s", n,
			     PQresultErrorMessage(res));
		for (size_t i = 0; i < n; i++) {
			json_t *one = json_pack("[O]", json_array_get(b->sent, i));
			if (!one || send_batch(w, b->slot, one, 0) < 0) {
				json_t *it = json_array_get(b->sent, i);
				durable__log("ERROR", "workflow task %s: completion failed: out of memory",
					     json_string_value(json_object_get(it, "task_token")));
			}
			json_decref(one);
		}
	} else if (st < 0) {
		log_dropped(b->sent, PQresultErrorMessage(res));
	} else {
		int outcomes = 0, eager = 0, polled = 0;
		for (int i = 0; i < PQntuples(res); i++) {
			const char *token = durable__pg_col(res, i, "task_token"), *outcome = durable__pg_col(res, i, "outcome");
			/* only an offer's answer has activity rows, and a kind */
			if (b->offered > 0 && strcmp(durable__pg_col(res, i, "kind"), "activity_task") == 0) {
				/* EAGER: scheduled by these completions and inserted started;
				 * POLLED: taken from the queue's backlog by a poll made
				 * with them */
				durable__log("DEBUG", "activity task %s: leased with the completion (%s)", token, outcome);
				durable__activity_take(w, res, i);
				if (strcmp(outcome, "EAGER") == 0)
					eager++;
				else
					polled++;
				continue;
			}
			outcomes++;
			if (strcmp(outcome, "LEASE_LOST") == 0)
				durable__log("WARN", "workflow task %s: lease lost, result discarded: %s", token,
					     durable__pg_col(res, i, "error"));
			else if (strcmp(outcome, "INVALID") == 0 || strcmp(outcome, "DENIED") == 0)
				durable__log("ERROR", "workflow task %s: completion refused: %s", token,
					     durable__pg_col(res, i, "error"));
			else
				durable__log("DEBUG", "workflow task %s: %s", token, outcome);
		}
		if ((size_t)outcomes != n)
			durable__log("WARN", "complete_workflow_tasks answered %d rows for %zu outcomes", outcomes, n);
		w->eager_started += eager;
		w->eager_polled += polled;
	}
	/* slots offered and not taken go back to the activity poll; so do
	 * the backlog's tasks a failed offer had locked, whose notification
	 * was spent (a broken connection polls when it is back) */
	if (b->offered > 0 && (w->act_again || (res && st < 0)))
		durable__activities_poll(w);
	(void)pg;
	json_decref(b->sent);
	free(b);
	durable__workflow_outcomes_flush(w);
	durable__worker_maybe_done(w);
}

/* A connection that is up and has no batch of ours in flight, or -2. */
static int free_slot(durable_worker_t *w)
{
	if (w->ndone == 0)
		return w->wf_flushing == 0 && durable__pg_connected(w->wf_pg) ? -1 : -2;
	for (int i = 0; i < w->ndone; i++)
		if (w->done_inflight[i] == 0 && durable__pg_connected(w->done_pg[i]))
			return i;
	return -2;
}

static int batches_in_flight(durable_worker_t *w)
{
	int n = w->wf_flushing;
	for (int i = 0; i < w->ndone; i++)
		n += w->done_inflight[i];
	return n;
}

/* A partial batch goes only when no batch is in flight (it collects what
 * finishes meanwhile); a full one goes on any free connection. */
void durable__workflow_outcomes_flush(durable_worker_t *w)
{
	size_t n;
	int slot;
	while (!w->closed && (n = json_array_size(w->wf_outcomes)) > 0 &&
	       (n >= (size_t)w->wf_batch_max || batches_in_flight(w) == 0) && (slot = free_slot(w)) != -2) {
		size_t take = n < (size_t)w->wf_batch_max ? n : (size_t)w->wf_batch_max;
		json_t *batch = json_array(), *rest = json_array();
		if (!batch || !rest) {
			json_decref(batch);
			json_decref(rest);
			return;   /* out of memory: they stay queued */
		}
		for (size_t i = 0; i < n; i++)
			json_array_append(i < take ? batch : rest, json_array_get(w->wf_outcomes, i));
		json_decref(w->wf_outcomes);
		w->wf_outcomes = rest;
		durable__wakeup_judge(w, &w->wf_unannounced, "workflow");
		if (send_batch(w, slot, batch, 0) < 0)
			log_dropped(batch, "out of memory");
		json_decref(batch);
	}
}

void durable__workflow_outcome_queue(durable_worker_t *w, json_t *item, const char *token)
{
	if (!item || json_array_append_new(w->wf_outcomes, item) < 0) {
		durable__log("ERROR", "workflow task %s: completion failed: out of memory", token);
		return;
	}
	if (json_array_size(w->wf_outcomes) >= (size_t)w->wf_batch_max)
		durable__workflow_outcomes_flush(w);
	durable__worker_flush_soon(w);
}
