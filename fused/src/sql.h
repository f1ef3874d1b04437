/*
 * Every SQL statement durablefs sends, by name: sql.c is the daemon's whole
 * contract with the store. A call's answer is read by column name
 * (db_col in db.h), never by position, and db.c checks each answer has every
 * column its call names before anything is read: a missing one fails the
 * operation with EIO and a reason, not a read of another column.
 * tests/t_sql_contract.sh holds sql.c to the store (each call's parameters
 * and columns, as the store describes them) and to the code (every column
 * read is one its call names).
 */
#ifndef DURABLEFS_SQL_H
#define DURABLEFS_SQL_H

#include <stdbool.h>

struct sql_call {
	const char *name;		/* what it asks, in logs and errors */
	const char *text;
	int nparams;			/* $1..$nparams, all sent as text */
	const char *const *columns;	/* what it returns, in order, NULL-ended; NULL: nothing is read */
};

/* Whether call returns a column called name (the file-per-column folders). */
bool sql_returns(const struct sql_call *call, const char *name);

/* Every call below, NULL-ended, for the contract test. */
extern const struct sql_call *const sql_calls[];

/* workflows/<id>/ */
extern const struct sql_call sql_workflow_exists, sql_workflow_files, sql_run_length,
	sql_run_state, sql_history_chain, sql_history_events, sql_list_workflows,
	sql_list_workflows_from_table, sql_list_runs, sql_query_workflow, sql_update_workflow,
	sql_start_workflow, sql_signal_workflow, sql_cancel_workflow, sql_terminate_workflow,
	sql_reset_workflow, sql_delete_workflow, sql_pause_workflow, sql_unpause_workflow,
	sql_watch_history, sql_listen_history;
/* workflows/<id>/activities/ */
extern const struct sql_call sql_list_pending_activities, sql_activity_files, sql_pause_activity,
	sql_unpause_activity, sql_reset_activity, sql_reset_activity_heartbeat,
	sql_update_activity_options;
/* task-queues/ and tasks/ */
extern const struct sql_call sql_list_task_queues, sql_may_list_queue_limits,
	sql_limited_queues_without_work, sql_queue_state, sql_queue_metrics, sql_queue_tasks,
	sql_queue_limits, sql_list_fairness_keys, sql_set_queue_limit, sql_set_key_limit,
	sql_queue_build_rules, sql_set_build_id_rules, sql_task_queue_channel,
	sql_listen_activity_channel, sql_unlisten_all, sql_lease_activity_task,
	sql_complete_activity_task, sql_fail_activity_task, sql_heartbeat_activity_task;
/* schedules/ */
extern const struct sql_call sql_list_schedules, sql_schedule_exists, sql_schedule_files,
	sql_update_schedule_spec, sql_update_schedule_action, sql_set_schedule_policies,
	sql_pause_schedule, sql_unpause_schedule, sql_trigger_schedule, sql_backfill_schedule;
/* where/, batches/, search-attributes */
extern const struct sql_call sql_where_check, sql_where_page, sql_where_has, sql_batch_list,
	sql_batch_files, sql_batch_start, sql_batch_stop, sql_search_attributes,
	sql_add_search_attribute, sql_remove_search_attribute;
/* the mount: metrics, rights, callers, settings, transactions */
extern const struct sql_call sql_workflow_counts, sql_callable_functions, sql_namespace_access,
	sql_queue_worker_access, sql_role_check, sql_act_as_role, sql_payload_limit, sql_begin,
	sql_commit, sql_rollback;

#endif
