/*
 * perms_hook.c: a test module that, as sepgsql or pgaudit's object audit
 * do, installs ExecutorCheckPerms_hook. Its rule: an INSERT into a table
 * named workflow_tasks or activity_tasks is refused. tests/task_hooks/run.sh
 * LOADs it into one session and checks that durable._insert_workflow_task
 * and _insert_activity_task (which write without the executor when they
 * can, pgext/src/task_insert.c) are refused as the INSERT is.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ExecutorCheckPerms_hook_type prev_hook = NULL;

static bool
refuse_task_inserts(List *range_table, bool ereport_on_violation)
{
	ListCell   *lc;

	foreach(lc, range_table)
	{
		RangeTblEntry *rte = lfirst(lc);
		char	   *name;

		if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & ACL_INSERT) == 0)
			continue;
		name = get_rel_name(rte->relid);
		if (name != NULL && (strcmp(name, "workflow_tasks") == 0 || strcmp(name, "activity_tasks") == 0))
		{
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
	ExecutorCheckPerms_hook = refuse_task_inserts;
}
