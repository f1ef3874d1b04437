/*
 * durablefs's contract with the store: every statement the daemon sends,
 * what it takes ($n, all as text; the SQL casts) and the columns it answers
 * with, by name. Callers read answers with db_col(r, row, "<column>"), and
 * db.c refuses (EIO, with the reason logged) an answer that lacks a column
 * its call names here. A change to a durable.* function's arguments or
 * columns is one grep of this file away from every place that depends on it.
 *
 * "ns" is the mount's namespace (--namespace); "identity" the caller as the
 * store records it (callers_identity()). Not here: LISTEN on a queue's
 * channel, whose name the store computes (a LISTEN takes an identifier, not
 * a parameter: lease.c and watch.c quote it); and the function names whose
 * EXECUTE right decides a file's mode (rights.c, entry_points), which a
 * renamed function must change too.
 */
#include "sql.h"

#include <stddef.h>
#include <string.h>

#define COLUMNS(...) ((const char *const[]){ __VA_ARGS__, NULL })

bool sql_returns(const struct sql_call *call, const char *name)
{
	for (const char *const *c = call->columns; c && *c; c++)
		if (strcmp(*c, name) == 0)
			return true;
	return false;
}

/* ---- workflows/<id>/ ---- */

/* $1 workflow id, $2 run id (NULL: the latest), $3 ns: DU001 if no such run, nothing read. */
const struct sql_call sql_workflow_exists = {
	"workflow exists",
	"SELECT 1 AS found FROM durable.get_history($1, $2::uuid, 0, 0, $3)",
	3, COLUMNS("found"),
};

/* $1 workflow id, $2 run id (NULL: the latest), $3 ns: a column per value file, named as it. */
const struct sql_call sql_workflow_files = {
	"workflow files",
	"SELECT d->>'status' AS status, d->>'workflow_type' AS type, d->>'task_queue' AS task_queue,"
	" d->>'run_id' AS run_id, d->>'started_at' AS started_at, d->>'closed_at' AS closed_at,"
	" d->'input' AS input, d->'result' AS result, d->'failure' AS failure,"
	" jsonb_build_object('cancel_requested', d->'cancel_requested',"
	"   'workflow_task', d->'pending_workflow_task', 'activities', d->'pending_activities',"
	"   'timers', d->'pending_timers', 'children', d->'pending_children', 'paused', d->'paused') AS pending,"
	" CASE WHEN jsonb_typeof(d->'paused') = 'object' THEN 'true' ELSE 'false' END AS paused"
	" FROM durable.describe_workflow($1, $2::uuid, $3) d",
	3, COLUMNS("status", "type", "task_queue", "run_id", "started_at", "closed_at", "input",
		   "result", "failure", "pending", "paused"),
};

/* $1 workflow id, $2 run id (NULL: the latest), $3 ns: which run, and how many events it has. */
const struct sql_call sql_run_length = {
	"run length",
	"SELECT d->>'run_id' AS run_id, (d->>'history_length')::bigint AS history_length"
	" FROM durable.describe_workflow($1, $2::uuid, $3) d",
	3, COLUMNS("run_id", "history_length"),
};

/* The same, as one "STATUS LENGTH RUN" string whose change is what a watcher waits for. */
const struct sql_call sql_run_state = {
	"run state",
	"SELECT coalesce(d->>'status', '') || ' ' || coalesce(d->>'history_length', '')"
	" || ' ' || coalesce(d->>'run_id', '') AS state, d->>'task_queue' AS task_queue"
	" FROM durable.describe_workflow($1, $2::uuid, $3) d",
	3, COLUMNS("state", "task_queue"),
};

/* $1 workflow id, $2 ns: the latest run's continue-as-new chain, oldest run first. */
const struct sql_call sql_history_chain = {
	"history chain",
	"SELECT run_id, history_length FROM durable.history_chain($1, NULL, $2)",
	2, COLUMNS("run_id", "history_length"),
};

/*
 * $1 workflow id, $2 run id, $3 after event id, $4 at most, $5 ns: each event
 * as its line of the history file. UTC is pinned per connection (db.c), so
 * every rendering of an event is byte-identical, which stable offsets need.
 */
const struct sql_call sql_history_events = {
	"history events",
	"SELECT h.event_id, format('{\"event_id\": %s, \"event_type\": %s, \"event_time\": %s, \"attributes\": %s,"
	" \"run_id\": %s}', h.event_id, to_json(h.event_type), to_json(h.event_time), h.attributes,"
	" to_json($2::text)) AS line"
	" FROM durable.get_history($1, $2::uuid, $3::bigint, $4::int, $5) h",
	5, COLUMNS("event_id", "line"),
};

/* $1 status (NULL: any), $2 after workflow id (NULL: from the first), $3 ns, $4 page size. */
const struct sql_call sql_list_workflows = {
	"list workflows",
	"SELECT workflow_id FROM durable.list_workflows(status => $1, after_workflow_id => $2,"
	" page_size => $4::int, namespace => $3)",
	4, COLUMNS("workflow_id"),
};

/* The same rows from the table, for a store whose list_workflows does not compile (42P13). */
const struct sql_call sql_list_workflows_from_table = {
	"list workflows from the table",
	"SELECT workflow_id FROM (SELECT DISTINCT ON (w.workflow_id) w.workflow_id, w.status"
	"  FROM durable.workflows w WHERE w.namespace = $3 AND ($2::text IS NULL OR w.workflow_id > $2)"
	"  ORDER BY w.workflow_id, w.started_at DESC) l"
	" WHERE ($1::text IS NULL OR l.status = $1) ORDER BY l.workflow_id LIMIT $4::int",
	4, COLUMNS("workflow_id"),
};

/* $1 workflow id, $2 ns: every run of the id, oldest first. */
const struct sql_call sql_list_runs = {
	"list runs",
	"SELECT run_id FROM durable.list_runs($1, $2)",
	2, COLUMNS("run_id"),
};

/*
 * Queries and updates share their parameters: $1 workflow id, $2 name,
 * $3 run id (NULL: the latest), $4 timeout in ms, $5 ns, $6 arguments (JSON).
 * They block while a worker answers.
 */
const struct sql_call sql_query_workflow = {
	"query workflow",
	"SELECT durable.query_workflow($1, $2, $6::jsonb, $3::uuid, $4::int, $5)::text AS answer",
	6, COLUMNS("answer"),
};

const struct sql_call sql_update_workflow = {
	"update workflow",
	"SELECT durable.update_workflow($1, $2, $6::jsonb, NULL, $4::int, $3::uuid, $5)::text AS answer",
	6, COLUMNS("answer"),
};

/*
 * $1 the start spec {"type", "id", "task_queue", "input", "options"}, $2 ns.
 * The spec is checked here, in the statement that starts, so that a spec
 * jsonb accepts is one the mount accepts: problem says what is wrong with
 * it (then nothing started), run_id is the started run.
 */
const struct sql_call sql_start_workflow = {
	"start workflow",
	"WITH x AS (SELECT $1::jsonb s),"
	" chk AS (SELECT CASE"
	"   WHEN jsonb_typeof(s) IS DISTINCT FROM 'object' THEN 'start spec: not a JSON object'"
	"   WHEN k.bad IS NOT NULL THEN format('start spec: unknown key \"%s\" (use type, id, task_queue, input, options)', k.bad)"
	"   WHEN jsonb_typeof(s->'type') IS DISTINCT FROM 'string' THEN 'start spec: \"type\" must be a string'"
	"   WHEN jsonb_typeof(s->'id') IS DISTINCT FROM 'string' THEN 'start spec: \"id\" must be a string'"
	"   WHEN jsonb_typeof(s->'task_queue') IS DISTINCT FROM 'string' THEN 'start spec: \"task_queue\" must be a string'"
	"   WHEN s ? 'options' AND jsonb_typeof(s->'options') <> 'object' THEN 'start spec: \"options\" must be a JSON object'"
	"  END AS problem, s FROM x, LATERAL (SELECT min(key) bad FROM jsonb_object_keys("
	"     CASE WHEN jsonb_typeof(s) = 'object' THEN s ELSE '{}' END) key"
	"     WHERE key NOT IN ('type', 'id', 'task_queue', 'input', 'options')) k)"
	"SELECT problem, CASE WHEN problem IS NULL THEN durable.start_workflow(s->>'id', s->>'type',"
	" s->>'task_queue', s->'input', coalesce(s->'options', '{}'), $2) END AS run_id FROM chk",
	2, COLUMNS("problem", "run_id"),
};

/* $1 workflow id, $2 signal name, $3 arguments (JSON, NULL: none), $4 ns, $5 identity. */
const struct sql_call sql_signal_workflow = {
	"signal workflow",
	"SELECT durable.signal_workflow($1, $2, $3::jsonb, NULL, $4, $5)",
	5, NULL,
};

/*
 * The verbs of a workflow's ctl, applied together in one transaction:
 * $1 workflow id, $2 reason (NULL: none), $3 ns, $4 identity, $5 event id.
 */
const struct sql_call sql_cancel_workflow = {
	"cancel workflow",
	"SELECT durable.cancel_workflow($1, $2, NULL, $3, $4)",
	4, NULL,
};

const struct sql_call sql_terminate_workflow = {
	"terminate workflow",
	"SELECT durable.terminate_workflow($1, $2, NULL, NULL, $3, $4)",
	4, NULL,
};

const struct sql_call sql_reset_workflow = {
	"reset workflow",
	"SELECT durable.reset_workflow($1, $5::bigint, $2, NULL, $3, $4)",
	5, NULL,
};

/* every run of the id */
const struct sql_call sql_delete_workflow = {
	"delete workflow",
	"SELECT durable.delete_workflow($1, $2, $3, $4)",
	4, NULL,
};

/* who paused is the caller's role, as the store names it: no identity */
const struct sql_call sql_pause_workflow = {
	"pause workflow",
	"SELECT durable.pause_workflow($1, $2, NULL, $3)",
	3, NULL,
};

const struct sql_call sql_unpause_workflow = {
	"unpause workflow",
	"SELECT durable.unpause_workflow($1, $2, NULL, $3)",
	3, NULL,
};

/* The session will hear "durable.history" with a run id when that run's history grows. */
const struct sql_call sql_watch_history = {
	"watch history",
	"SELECT durable.watch_history()",
	0, NULL,
};

const struct sql_call sql_listen_history = {
	"listen for history",
	"LISTEN \"durable.history\"",
	0, NULL,
};

/* ---- workflows/<id>/activities/ ---- */

/* $1 workflow id, $2 ns: the pending activities of the latest run. */
const struct sql_call sql_list_pending_activities = {
	"list pending activities",
	"SELECT a->>'activity_id' AS activity_id FROM durable.describe_workflow($1, NULL, $2) d,"
	" jsonb_array_elements(d->'pending_activities') a",
	2, COLUMNS("activity_id"),
};

/* $1 workflow id, $2 activity id, $3 ns: a column per file of activities/<id>/, named as it. */
const struct sql_call sql_activity_files = {
	"activity files",
	"SELECT a->>'activity_type' AS type, a->>'state' AS state, a->>'attempt' AS attempt,"
	" CASE WHEN jsonb_typeof(a->'paused') = 'object' THEN 'true' ELSE 'false' END AS paused,"
	" nullif(a->'last_failure', 'null') AS last_failure, a->'options' AS options, a AS info"
	" FROM durable.describe_workflow($1, NULL, $3) d, jsonb_array_elements(d->'pending_activities') a"
	" WHERE a->>'activity_id' = $2",
	3, COLUMNS("type", "state", "attempt", "paused", "last_failure", "options", "info"),
};

/*
 * The verbs of an activity's ctl, applied together in one transaction:
 * $1 workflow id, $2 activity id, $3 ns, $4 reason (pause only).
 */
const struct sql_call sql_pause_activity = {
	"pause activity",
	"SELECT durable.pause_activity($1, $2, $4, NULL, $3)",
	4, NULL,
};

const struct sql_call sql_unpause_activity = {
	"unpause activity",
	"SELECT durable.unpause_activity($1, $2, NULL, $3)",
	3, NULL,
};

const struct sql_call sql_reset_activity = {
	"reset activity",
	"SELECT durable.reset_activity($1, $2, false, NULL, $3)",
	3, NULL,
};

/* reset, forgetting the heartbeat details too */
const struct sql_call sql_reset_activity_heartbeat = {
	"reset activity and heartbeat",
	"SELECT durable.reset_activity($1, $2, true, NULL, $3)",
	3, NULL,
};

/* $1 workflow id, $2 activity id, $3 the options to change (JSON), $4 ns: every option after. */
const struct sql_call sql_update_activity_options = {
	"update activity options",
	"SELECT durable.update_activity_options($1, $2, $3::jsonb, NULL, $4) AS options",
	4, COLUMNS("options"),
};

/* ---- task-queues/ and tasks/ ---- */

/* $1 ns: the queues with work or pollers, and what they hold. */
const struct sql_call sql_list_task_queues = {
	"list task queues",
	"SELECT task_queue FROM durable.list_task_queues($1)",
	1, COLUMNS("task_queue"),
};

/* EXECUTE is checked before any row is read: ask first, so that a reader without it lists the rest. */
const struct sql_call sql_may_list_queue_limits = {
	"may list queue limits",
	"SELECT pg_catalog.has_function_privilege('durable.list_task_queue_limits(text)', 'EXECUTE') AS may",
	0, COLUMNS("may"),
};

/* $1 ns: queues with limits but no work yet. */
const struct sql_call sql_limited_queues_without_work = {
	"limited queues without work",
	"SELECT DISTINCT l.task_queue FROM durable.list_task_queue_limits($1) l"
	" WHERE l.task_queue NOT IN (SELECT q.task_queue FROM durable.list_task_queues($1) q)"
	" ORDER BY 1",
	1, COLUMNS("task_queue"),
};

/* $1 ns, $2 queue: its backlog and pollers (no row: an idle queue). */
const struct sql_call sql_queue_state = {
	"queue state",
	"SELECT workflow_backlog, activity_backlog, activities_running, pollers"
	" FROM durable.list_task_queues($1) WHERE task_queue = $2",
	2, COLUMNS("workflow_backlog", "activity_backlog", "activities_running", "pollers"),
};

/* $1 ns: every queue's gauges, for the metrics file. */
const struct sql_call sql_queue_metrics = {
	"queue metrics",
	"SELECT task_queue, workflow_backlog, activity_backlog, activities_running,"
	" jsonb_array_length(pollers) AS pollers FROM durable.list_task_queues($1)",
	1, COLUMNS("task_queue", "workflow_backlog", "activity_backlog", "activities_running", "pollers"),
};

/* $1 queue, $2 ns, $3 after task id: a page of the queue's activity tasks, without tokens. */
const struct sql_call sql_queue_tasks = {
	"queue tasks",
	"SELECT t.task_id, row_to_json(t)::text AS task"
	" FROM durable.list_activity_tasks($1, $2, 1000, $3::bigint) t",
	3, COLUMNS("task_id", "task"),
};

/* $1 ns, $2 queue, $3 fairness key (NULL: the queue's own): a column per limit file, named as it. */
const struct sql_call sql_queue_limits = {
	"queue limits",
	"SELECT max_concurrent, rate_per_second, key_max_concurrent, key_rate_per_second"
	" FROM durable.list_task_queue_limits($1) WHERE task_queue = $2"
	" AND fairness_key IS NOT DISTINCT FROM $3",
	3, COLUMNS("max_concurrent", "rate_per_second", "key_max_concurrent", "key_rate_per_second"),
};

/* $1 ns, $2 queue: the fairness keys with limits of their own. */
const struct sql_call sql_list_fairness_keys = {
	"list fairness keys",
	"SELECT fairness_key FROM durable.list_task_queue_limits($1)"
	" WHERE task_queue = $2 AND fairness_key IS NOT NULL",
	2, COLUMNS("fairness_key"),
};

/*
 * The store takes all of a queue's limits at once; the others keep their
 * values: $1 queue, $2 ns, $3 the limit's file name, $4 its value if a whole
 * number, $5 if a rate (both NULL: no limit).
 */
const struct sql_call sql_set_queue_limit = {
	"set queue limit",
	"SELECT durable.set_task_queue_limits($1,"
	" CASE WHEN $3 = 'max_concurrent' THEN $4::integer ELSE l.max_concurrent END,"
	" CASE WHEN $3 = 'rate_per_second' THEN $5::float8 ELSE l.rate_per_second END,"
	" CASE WHEN $3 = 'key_max_concurrent' THEN $4::integer ELSE l.key_max_concurrent END,"
	" CASE WHEN $3 = 'key_rate_per_second' THEN $5::float8 ELSE l.key_rate_per_second END, $2)"
	" FROM (SELECT 1) one LEFT JOIN durable.list_task_queue_limits($2) l"
	"   ON l.task_queue = $1 AND l.fairness_key IS NULL",
	5, NULL,
};

/* The same for one fairness key, $6. */
const struct sql_call sql_set_key_limit = {
	"set fairness key limit",
	"SELECT durable.set_fairness_key_limits($1, $6,"
	" CASE WHEN $3 = 'max_concurrent' THEN $4::integer ELSE l.max_concurrent END,"
	" CASE WHEN $3 = 'rate_per_second' THEN $5::float8 ELSE l.rate_per_second END, $2)"
	" FROM (SELECT 1) one LEFT JOIN durable.list_task_queue_limits($2) l"
	"   ON l.task_queue = $1 AND l.fairness_key = $6",
	6, NULL,
};

/* $1 ns, $2 queue: its default build id and mode (no row: unversioned). */
const struct sql_call sql_queue_build_rules = {
	"queue build id rules",
	"SELECT default_build_id, mode FROM durable.list_build_id_rules($1) WHERE task_queue = $2",
	2, COLUMNS("default_build_id", "mode"),
};

/* $1 queue, $2 default build id (NULL: unversioned), $3 mode, $4 ns. */
const struct sql_call sql_set_build_id_rules = {
	"set build id rules",
	"SELECT durable.set_build_id_rules($1, $2, $3, $4)",
	4, NULL,
};

/* $1 "workflow" or "activity", $2 queue, $3 ns: the channel its workers are woken on. */
const struct sql_call sql_task_queue_channel = {
	"task queue channel",
	"SELECT durable.task_queue_channel($1, $2, $3) AS channel",
	3, COLUMNS("channel"),
};

/*
 * $1 queue, $2 ns: the queue's activity channel, also kept in the session
 * (durablefs.chan) for as long as a read of next listens.
 */
const struct sql_call sql_listen_activity_channel = {
	"activity channel",
	"SELECT pg_catalog.set_config('durablefs.chan', durable.task_queue_channel('activity', $1, $2), false)"
	" AS channel",
	2, COLUMNS("channel"),
};

const struct sql_call sql_unlisten_all = {
	"unlisten",
	"UNLISTEN *",
	0, NULL,
};

/* $1 queue, $2 identity, $3 ns: one activity task leased, as JSON with its token (no row: none ready). */
const struct sql_call sql_lease_activity_task = {
	"lease activity task",
	"SELECT row_to_json(t)::text AS task FROM durable.poll_activity_tasks($1, $2, 1, $3) t",
	3, COLUMNS("task"),
};

/* The files of tasks/<token>/: $1 token, $2 result (JSON), $3 identity. */
const struct sql_call sql_complete_activity_task = {
	"complete activity task",
	"SELECT durable.complete_activity_task($1, $2::jsonb, $3)",
	3, NULL,
};

/* $1 token, $2 failure (JSON), $3 identity: whether the activity retries or failed for good. */
const struct sql_call sql_fail_activity_task = {
	"fail activity task",
	"SELECT durable.fail_activity_task($1, $2::jsonb, $3) AS outcome",
	3, COLUMNS("outcome"),
};

/* $1 token, $2 details (JSON): whether the workflow wants the activity to stop, or an operator paused it. */
const struct sql_call sql_heartbeat_activity_task = {
	"heartbeat activity task",
	"SELECT cancel_requested, paused FROM durable.heartbeat_activity_task_status($1, $2::jsonb)",
	2, COLUMNS("cancel_requested", "paused"),
};

/* ---- schedules/ ---- */

/* $1 ns */
const struct sql_call sql_list_schedules = {
	"list schedules",
	"SELECT schedule_id FROM durable.list_schedules($1)",
	1, COLUMNS("schedule_id"),
};

/* $1 schedule id, $2 ns: DU007 if there is none. */
const struct sql_call sql_schedule_exists = {
	"schedule exists",
	"SELECT 1 AS found FROM durable.describe_schedule($1, $2)",
	2, COLUMNS("found"),
};

/* $1 schedule id, $2 ns: a column per file of schedules/<id>/, named as it. */
const struct sql_call sql_schedule_files = {
	"schedule files",
	"SELECT d->'spec' AS spec, d->'action' AS action, d->>'paused' AS paused,"
	" (SELECT string_agg(x, E'\\n') FROM jsonb_array_elements_text(d->'upcoming') x) AS next_runs,"
	" d AS info FROM durable.describe_schedule($1, $2) d",
	2, COLUMNS("spec", "action", "paused", "next_runs", "info"),
};

/* The writable files: $1 schedule id, $2 ns, $3 the fields to change (JSON; null removes one). */
const struct sql_call sql_update_schedule_spec = {
	"update schedule spec",
	"SELECT durable.update_schedule($1, spec => $3::jsonb, namespace => $2)",
	3, NULL,
};

const struct sql_call sql_update_schedule_action = {
	"update schedule action",
	"SELECT durable.update_schedule($1, action => $3::jsonb, namespace => $2)",
	3, NULL,
};

/*
 * The verbs of a schedule's ctl, applied together in one transaction:
 * $1 schedule id, $2 ns, then the verb's words: $3 the policies (JSON) of
 * set, the note of pause and unpause, the overlap policy of trigger (NULL:
 * the schedule's), the start, end and overlap policy of backfill.
 */
const struct sql_call sql_set_schedule_policies = {
	"set schedule policies",
	"SELECT durable.update_schedule($1, policies => $3::jsonb, namespace => $2)",
	3, NULL,
};

const struct sql_call sql_pause_schedule = {
	"pause schedule",
	"SELECT durable.pause_schedule($1, $3, $2)",
	3, NULL,
};

const struct sql_call sql_unpause_schedule = {
	"unpause schedule",
	"SELECT durable.unpause_schedule($1, $3, $2)",
	3, NULL,
};

const struct sql_call sql_trigger_schedule = {
	"trigger schedule",
	"SELECT durable.trigger_schedule($1, $3, $2)",
	3, NULL,
};

const struct sql_call sql_backfill_schedule = {
	"backfill schedule",
	"SELECT durable.backfill_schedule($1, $3::timestamptz, $4::timestamptz,"
	" coalesce($5, 'ALLOW_ALL'), $2)",
	5, NULL,
};

/* ---- where/, batches/, search-attributes ---- */

/* $1 filter, $2 ns: whether the store compiles the filter (its errors then point into it). */
const struct sql_call sql_where_check = {
	"where check",
	"SELECT 1 AS found FROM durable.list_workflows(query => $1, page_size => 1, namespace => $2)",
	2, COLUMNS("found"),
};

/* $1 filter, $2 after run id (NULL: the first page), $3 page size, $4 ns: the runs it matches, in id order. */
const struct sql_call sql_where_page = {
	"where page",
	"SELECT workflow_id, run_id FROM durable.list_workflows(query => $1 || ' ORDER BY WorkflowId',"
	" after_run_id => $2::uuid, page_size => $3::int, namespace => $4)",
	4, COLUMNS("workflow_id", "run_id"),
};

/* $1 filter, $2 workflow id as a string of the filter language, $3 ns: whether a run of it matches. */
const struct sql_call sql_where_has = {
	"where has",
	"SELECT 1 AS found FROM durable.list_workflows(query => '(' || $1 || ') AND WorkflowId = ' || $2,"
	" page_size => 1, namespace => $3)",
	3, COLUMNS("found"),
};

/* $1 ns */
const struct sql_call sql_batch_list = {
	"list batch jobs",
	"SELECT job_id FROM durable.list_batch_jobs($1)",
	1, COLUMNS("job_id"),
};

/* $1 job id, $2 ns: a column per file of batches/<job_id>/, named as it (42704: no such job). */
const struct sql_call sql_batch_files = {
	"batch files",
	"SELECT d->>'operation' AS operation, d->>'query' AS query, d->>'state' AS state,"
	" d->>'total' AS total, d->>'done' AS done, d->>'failed' AS failed,"
	" d->>'rate_per_second' AS rate_per_second, d AS info FROM durable.describe_batch_job($1, $2) d",
	2, COLUMNS("operation", "query", "state", "total", "done", "failed", "rate_per_second", "info"),
};

/*
 * $1 the batch spec {"job_id", "operation", "query", "arguments",
 * "rate_per_second"}, $2 ns; checked here as the start spec is: problem, or
 * how many runs the job acts on.
 */
const struct sql_call sql_batch_start = {
	"start batch job",
	"WITH x AS (SELECT $1::jsonb s),"
	" chk AS (SELECT CASE"
	"   WHEN jsonb_typeof(s) IS DISTINCT FROM 'object' THEN 'batch spec: not a JSON object'"
	"   WHEN k.bad IS NOT NULL THEN format('batch spec: unknown key \"%s\""
	" (use job_id, operation, query, arguments, rate_per_second)', k.bad)"
	"   WHEN jsonb_typeof(s->'job_id') IS DISTINCT FROM 'string' THEN 'batch spec: \"job_id\" must be a string'"
	"   WHEN jsonb_typeof(s->'operation') IS DISTINCT FROM 'string' THEN 'batch spec: \"operation\" must be a string'"
	"   WHEN jsonb_typeof(s->'query') IS DISTINCT FROM 'string' THEN 'batch spec: \"query\" must be a string'"
	"   WHEN s ? 'rate_per_second' AND jsonb_typeof(s->'rate_per_second') <> 'number'"
	"     THEN 'batch spec: \"rate_per_second\" must be a number'"
	"  END AS problem, s FROM x, LATERAL (SELECT min(key) bad FROM jsonb_object_keys("
	"     CASE WHEN jsonb_typeof(s) = 'object' THEN s ELSE '{}' END) key"
	"     WHERE key NOT IN ('job_id', 'operation', 'query', 'arguments', 'rate_per_second')) k)"
	"SELECT problem, CASE WHEN problem IS NULL THEN durable.start_batch_job(s->>'job_id', s->>'operation',"
	" s->>'query', coalesce(s->'arguments', '{}'), coalesce((s->>'rate_per_second')::float8, 50), $2) END"
	" AS runs FROM chk",
	2, COLUMNS("problem", "runs"),
};

/* $1 job id, $2 reason (NULL: none), $3 ns */
const struct sql_call sql_batch_stop = {
	"stop batch job",
	"SELECT durable.stop_batch_job($1, $2, $3)",
	3, NULL,
};

/* $1 ns: name, type, and whether builtin or declared. */
const struct sql_call sql_search_attributes = {
	"search attributes",
	"SELECT name, type, CASE WHEN builtin THEN 'builtin' ELSE 'declared' END AS kind"
	" FROM durable.list_search_attributes($1)",
	1, COLUMNS("name", "type", "kind"),
};

/* $1 name, $2 type, $3 ns */
const struct sql_call sql_add_search_attribute = {
	"add search attribute",
	"SELECT durable.add_search_attribute($1, $2, $3)",
	3, NULL,
};

/* $1 name, $2 ns */
const struct sql_call sql_remove_search_attribute = {
	"remove search attribute",
	"SELECT durable.remove_search_attribute($1, $2)",
	2, NULL,
};

/* ---- the mount: metrics, rights, callers, settings, transactions ---- */

/* $1 ns: workflow ids by the status of their latest run (a full scan: for a scrape, not a stat). */
const struct sql_call sql_workflow_counts = {
	"workflow counts",
	"SELECT status, workflows FROM durable.count_workflows($1)",
	1, COLUMNS("status", "workflows"),
};

/* The durable functions the connection's role may call (as current_user: the caller's role). */
const struct sql_call sql_callable_functions = {
	"callable functions",
	"SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p"
	" WHERE p.pronamespace = 'durable'::regnamespace"
	" AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')",
	0, COLUMNS("proname"),
};

/*
 * $1 ns: the store's own answer for the role's access to the namespace. A
 * worker of some task queues only has no worker access to the whole
 * namespace, but may complete its tasks: worker says it has some.
 */
const struct sql_call sql_namespace_access = {
	"namespace access",
	"SELECT durable.has_access('reader', NULL, $1) AS reader, durable.has_access('operator', NULL, $1) AS operator,"
	" durable.has_access('worker', NULL, $1) OR EXISTS (SELECT 1 FROM durable.list_grants() g"
	"   JOIN pg_catalog.pg_roles r ON r.rolname = g.grantee WHERE g.access = 'worker'"
	"   AND (g.namespace IS NULL OR g.namespace = $1) AND pg_catalog.pg_has_role(r.oid, 'USAGE')) AS worker",
	1, COLUMNS("reader", "operator", "worker"),
};

/* $1 queue, $2 ns: whether the role may lease the queue's tasks. */
const struct sql_call sql_queue_worker_access = {
	"queue worker access",
	"SELECT durable.has_access('worker', $1, $2) AS may",
	2, COLUMNS("may"),
};

/* $1 role: whether it exists and the login role may act as it (and the login role, to say so). */
const struct sql_call sql_role_check = {
	"role check",
	"SELECT r.oid IS NOT NULL AS role_exists,"
	" coalesce(pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'), false) AS member,"
	" session_user AS login FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1",
	1, COLUMNS("role_exists", "member", "login"),
};

/* $1 role ("none": the login role). set_config takes a parameter, where SET ROLE would need quoting. */
const struct sql_call sql_act_as_role = {
	"act as role",
	"SELECT pg_catalog.set_config('role', $1, false)",
	1, NULL,
};

/* durable.max_payload_bytes in bytes: current_setting shows "2MB", "3kB" or "1000B"; pg_size_bytes rejects the last. */
const struct sql_call sql_payload_limit = {
	"payload limit",
	"SELECT CASE WHEN s ~ '^[0-9]+B$' THEN left(s, -1)::bigint ELSE pg_size_bytes(s) END AS bytes"
	" FROM (SELECT current_setting('durable.max_payload_bytes', true) s) x",
	0, COLUMNS("bytes"),
};

const struct sql_call sql_begin = { "begin", "BEGIN", 0, NULL };
const struct sql_call sql_commit = { "commit", "COMMIT", 0, NULL };
const struct sql_call sql_rollback = { "rollback", "ROLLBACK", 0, NULL };

const struct sql_call *const sql_calls[] = {
	&sql_workflow_exists, &sql_workflow_files, &sql_run_length, &sql_run_state,
	&sql_history_chain, &sql_history_events, &sql_list_workflows,
	&sql_list_workflows_from_table, &sql_list_runs, &sql_query_workflow, &sql_update_workflow,
	&sql_start_workflow, &sql_signal_workflow, &sql_cancel_workflow, &sql_terminate_workflow,
	&sql_reset_workflow, &sql_delete_workflow, &sql_pause_workflow, &sql_unpause_workflow,
	&sql_watch_history, &sql_listen_history,
	&sql_list_pending_activities, &sql_activity_files, &sql_pause_activity,
	&sql_unpause_activity, &sql_reset_activity, &sql_reset_activity_heartbeat,
	&sql_update_activity_options,
	&sql_list_task_queues, &sql_may_list_queue_limits, &sql_limited_queues_without_work,
	&sql_queue_state, &sql_queue_metrics, &sql_queue_tasks, &sql_queue_limits,
	&sql_list_fairness_keys, &sql_set_queue_limit, &sql_set_key_limit, &sql_queue_build_rules,
	&sql_set_build_id_rules, &sql_task_queue_channel, &sql_listen_activity_channel,
	&sql_unlisten_all, &sql_lease_activity_task, &sql_complete_activity_task,
	&sql_fail_activity_task, &sql_heartbeat_activity_task,
	&sql_list_schedules, &sql_schedule_exists, &sql_schedule_files, &sql_update_schedule_spec,
	&sql_update_schedule_action, &sql_set_schedule_policies, &sql_pause_schedule,
	&sql_unpause_schedule, &sql_trigger_schedule, &sql_backfill_schedule,
	&sql_where_check, &sql_where_page, &sql_where_has, &sql_batch_list, &sql_batch_files,
	&sql_batch_start, &sql_batch_stop, &sql_search_attributes, &sql_add_search_attribute,
	&sql_remove_search_attribute,
	&sql_workflow_counts, &sql_callable_functions, &sql_namespace_access,
	&sql_queue_worker_access, &sql_role_check, &sql_act_as_role, &sql_payload_limit, &sql_begin,
	&sql_commit, &sql_rollback,
	NULL,
};
