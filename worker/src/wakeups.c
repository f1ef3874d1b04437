/* Wake-ups: LISTEN on a task queue's channel, a notification's poll, and
 * the backstop that polls after a quiet spell and counts what a lost
 * wake-up left waiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

static void on_listen(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	(void)arg;
	if (durable__pg_status(res) < 0 && res)
		durable__log("ERROR", "LISTEN failed: %s", PQresultErrorMessage(res));
}

/* LISTEN on the queue's channel, then poll: the order matters, so that no
 * task scheduled between the poll and the LISTEN goes unnoticed. */
static void on_channel(durable__pg_t *pg, PGresult *res, void *arg)
{
	durable_worker_t *w = arg;
	char *chan = pg == w->wf_pg ? w->wf_channel : w->act_channel;
	if (durable__pg_status(res) < 0 || PQntuples(res) != 1)
		return;
	snprintf(chan, sizeof(w->wf_channel), "%s", PQgetvalue(res, 0, 0));
	char sql[300], *quoted = durable__pg_quote_ident(pg, chan);
	if (quoted) {
		snprintf(sql, sizeof(sql), "LISTEN %s", quoted);
		durable__pg_query(pg, sql, 0, NULL, on_listen, w);
		free(quoted);
	}
	if (pg == w->wf_pg)
		durable__workflows_poll(w);
	else
		durable__activities_poll(w);
}

void durable__on_queue_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)channel;
	durable_worker_t *w = arg;
	const char *p[] = {pg == w->act_pg ? "activity" : "workflow", w->task_queue, w->namespace_};
	durable__pg_query(pg, "SELECT durable.task_queue_channel($1, $2, $3)", 3, p, on_channel, w);
	if (pg == w->act_pg)
		durable__activities_flush(w);
	else if (w->ndone == 0)
		durable__workflow_outcomes_flush(w);   /* without completion connections, outcomes go on this one */
}

/*
 * NOTIFY is the wake-up; this is only the backstop. A notification can be
 * lost (one was, once, in the pipeline test under load, and a LISTEN
 * connection that reconnects misses what was sent meanwhile), and a lost one
 * would strand a ready task until the next notification of its queue. So
 * every BACKSTOP_MS each queue is polled once more; an idle worker pays one
 * empty poll per kind per interval.
 */
#define BACKSTOP_MS 5000
/* Every commit that makes work sends a notification, and the poll it causes
 * sees that commit; so work a backstop poll finds after this long without
 * any notification of its kind was announced to no one, or announced and
 * not acted on: a lost wake-up, logged and counted (e2e/t_wakeups.sh) --
 * unless its notification arrives just after the poll's answer, before the
 * worker sends an outcome, or the task is fresh (below). */
#define BACKSTOP_QUIET_MS 1000
/* A task the store says waited ready for less than this when the backstop
 * poll took it may be a fresh commit whose notification is on its way, and
 * is not counted: PostgreSQL makes a commit visible before it signals the
 * listeners, and a loaded machine can hold that signal back past the poll,
 * the task's run and its outcome; and a task's wait is counted from the
 * statement that made it ready, so a long transaction (forty workflows
 * started in one, on a loaded machine) commits tasks that look older than
 * they are. Half the backstop's interval: a wake-up lost for good is still
 * found by the next tick but one at the latest. */
#define BACKSTOP_FRESH_MS (BACKSTOP_MS / 2)

static void on_backstop(uv_timer_t *t)
{
	durable_worker_t *w = t->data;
	if (w->stopping)
		return;
	uint64_t now = uv_now(&w->loop);
	/* a whole interval without their notification */
	durable__wakeup_judge(w, &w->wf_unannounced, "workflow");
	durable__wakeup_judge(w, &w->act_unannounced, "activity");
	/* flagged before the poll goes, which then asks how long its tasks waited */
	if (!w->opts.no_workflows && w->wf_pg && !w->wf_polling) {
		w->wf_backstop_poll = now - w->wf_notified_ms >= BACKSTOP_QUIET_MS;
		durable__workflows_poll(w);
		w->wf_backstop_poll = w->wf_backstop_poll && w->wf_polling;
	}
	if (!w->opts.no_activities && w->act_pg && !w->act_polling) {
		w->act_backstop_poll = now - w->act_notified_ms >= BACKSTOP_QUIET_MS;
		durable__activities_poll(w);
		w->act_backstop_poll = w->act_backstop_poll && w->act_polling;
	}
	/* a wait for queries that was canceled (pg_cancel_backend, a
	 * statement_timeout) left none in flight: wait again, not in a loop */
	if (w->q_retry)
		durable__queries_poll(w);
	/* an old path taken for a call the store lacked: updated since? */
	durable__old_store_check(w);
}

void durable__backstop_found(int *flag, int *unannounced, PGresult *res, const char *kind)
{
	int col = PQfnumber(res, "waited"), wf = PQfnumber(res, "workflow_id");
	for (int i = 0; *flag && i < PQntuples(res); i++) {
		double waited_ms = col < 0 || PQgetisnull(res, i, col) ? -1 : strtod(PQgetvalue(res, i, col), NULL) * 1000;
		const char *workflow = wf < 0 || PQgetisnull(res, i, wf) ? "?" : PQgetvalue(res, i, wf);
		if (waited_ms >= 0 && waited_ms < BACKSTOP_FRESH_MS) {
			durable__log("INFO", "the backstop poll found a task (%s) ready for %.0f ms: its notification "
				     "may still be on its way; not counted", kind, waited_ms);
		} else {
			/* which, for the record: its run's history says what made it ready, and when */
			durable__log("INFO", "the backstop poll found a %s task of workflow %s, ready for %.0f ms: "
				     "a lost wake-up unless its notification follows", kind, workflow, waited_ms);
			(*unannounced)++;
		}
	}
	*flag = 0;
}

void durable__wakeup_judge(durable_worker_t *w, int *unannounced, const char *kind)
{
	if (*unannounced == 0)
		return;
	w->lost_wakeups++;
	durable__log("WARN", "the backstop poll found %d %s task%s that no notification announced: "
		     "a lost wake-up (%llu so far)", *unannounced, kind, *unannounced == 1 ? "" : "s",
		     (unsigned long long)w->lost_wakeups);
	*unannounced = 0;
}

void durable__on_queue_notify(durable__pg_t *pg, const char *channel, void *arg)
{
	durable_worker_t *w = arg;
	(void)channel;
	if (pg == w->wf_pg) {
		w->wf_notified_ms = uv_now(&w->loop);
		w->wf_backstop_poll = 0;   /* what the poll in flight finds may be this one's */
		w->wf_unannounced = 0;     /* or what it found: this is their notification, late */
		durable__workflows_poll(w);
	} else {
		w->act_notified_ms = uv_now(&w->loop);
		w->act_backstop_poll = 0;
		w->act_unannounced = 0;
		durable__activities_poll(w);
	}
}

void durable__backstop_start(durable_worker_t *w)
{
	uv_timer_init(&w->loop, &w->backstop);
	w->backstop.data = w;
	/* DURABLE_BACKSTOP_MS: another interval, for tests that must see
	 * wake-ups that do not depend on the backstop */
	const char *every = getenv("DURABLE_BACKSTOP_MS");
	uint64_t backstop_ms = every && atoll(every) > 0 ? (uint64_t)atoll(every) : BACKSTOP_MS;
	uv_timer_start(&w->backstop, on_backstop, backstop_ms, backstop_ms);
}
