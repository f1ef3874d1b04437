/*
 * perms_hook.c: a test module that, as sepgsql or pgaudit's object audit
 * do, installs ExecutorCheckPerms_hook. Its rule: an INSERT into a table
 * durable writes without the executor when it can (history_rows,
 * pgext/src/history_append.c; workflow_tasks and activity_tasks,
 * pgext/src/task_insert.c; workflows, pgext/src/run_insert.c) is refused. tests/append_hooks and
 * tests/task_hooks build it (build_perms_hook, tests/lib.sh), LOAD it into
 * one session and check that durable's C writers are refused as the INSERT
 * is. (No tests/hooks/run.sh: not a suite of its own.)
 */
#include "postgres.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ExecutorCheckPerms_hook_type prev_hook = NULL;

static const char *const refused[] = {"history_rows", "workflow_tasks", "activity_tasks", "workflows"};

static bool
refuse_durable_inserts(List *range_table, bool ereport_on_violation)
{
	ListCell   *lc;

	foreach(lc, range_table)
	{
		RangeTblEntry *rte = lfirst(lc);
		char	   *name;

		if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & ACL_INSERT) == 0)
			continue;
		name = get_rel_name(rte->relid);
		if (name == NULL)
			continue;
		for (int i = 0; i < (int) lengthof(refused); i++)
		{
			if (strcmp(name, refused[i]) != 0)
				continue;
			if (ereport_on_violation)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("perms_hook: an INSERT into %s is refused", name)));
			return false;
		}
	}
	return prev_hook ? prev_hook(range_table, ereport_on_violation) : true;
}

void
_PG_init(void)
{
	prev_hook = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = refuse_durable_inserts;
}
