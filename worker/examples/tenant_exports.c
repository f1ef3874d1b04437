/* Priorities and fairness from a workflow: TenantExport exports a tenant's
 * data and then has a report made. Started with the tenant as its fairness
 * key (start option "fairness_key"), everything it schedules inherits it;
 * the export below names the tenant itself and asks for more than its
 * share, and the report is a child that jumps the queue.
 *
 *   SELECT durable.start_workflow('export-acme', 'TenantExport', 'exports',
 *                                 '{"tenant": "acme"}', '{"fairness_key": "acme"}');
 *
 * docs/sdk.md, "Priorities and fairness", quotes this file. */
#include <durable.h>

static int export_rows(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)arg;
	*result = durable_activity_json(a, "{s:O, s:i}", "tenant", json_object_get(input, "tenant"), "rows", 42);
	return 0;
}

static int tenant_report(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	*output = durable_json(ctx, "{s:s, s:O}", "report", "ready", "export", input);
	return 0;
}

static int tenant_export(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	const char *tenant = json_string_value(json_object_get(input, "tenant"));
	if (!tenant)
		return durable_fail(ctx, "BadInput", "input needs a \"tenant\" string");
	/* the tenant's key, weight 2: while tenants have backlogs on the queue,
	 * this one's exports get two turns for each of a weight-1 tenant's */
	const durable_activity_options_t export_opts = {
		.start_to_close_timeout = 600,
		.fairness_key = tenant,        /* NULL: the workflow's key */
		.fairness_weight = 2,          /* 0: the workflow's weight (1 by default) */
	};
	json_t *exported;
	DURABLE_TRY(durable_activity(ctx, "export_rows", durable_json(ctx, "{s:s}", "tenant", tenant), &export_opts,
				     &exported));
	/* the report waits for no one: priority 1 is served before any task of
	 * priority 2 to 5 on its queue; key and weight are the parent's */
	const durable_child_options_t report_opts = {
		.workflow_id = durable_child_id(ctx, "report"),
		.priority = 1,                 /* 0: the parent's (3 by default) */
	};
	json_t *report;
	DURABLE_TRY(durable_child(ctx, "TenantReport", exported, &report_opts, &report));
	*output = report;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "TenantExport", tenant_export));
	DURABLE_TRY(durable_worker_register_workflow(w, "TenantReport", tenant_report));
	return durable_worker_register_activity(w, "export_rows", export_rows, NULL);
}
