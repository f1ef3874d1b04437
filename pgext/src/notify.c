/*
 * notify.c: durable._notify(kind, namespace, task_queue), a queue's pollers
 * told that a task is ready, in C (api/02_internal.sql).
 *
 * It is
 *     pg_notify(durable.task_queue_channel(kind, task_queue, namespace), '')
 * and was plpgsql, called for every task made ready (1.1 µs a call in the
 * three-activity shape's profile, for a NOTIFY whose own work is a lookup
 * in the transaction's pending list). The channel is task_queue_channel's,
 * which the workers compute for their LISTEN:
 *     'durable.' || left(kind, 1) || '.' || namespace || '.' || task_queue
 * when that is at most 63 bytes, else
 *     'durable.' || left(kind, 1) || '.' || md5(namespace || '/' || task_queue);
 * a null argument makes it null, which pg_notify takes as the empty
 * channel (its error). pgTAP 94_handback_c compares the two.
 */
#include "postgres.h"

#include "commands/async.h"
#include "common/md5.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_notify);

#define CHANNEL_MAX 63

/* durable._notify(kind text, namespace text, task_queue text) RETURNS void */
Datum
durable_notify(PG_FUNCTION_ARGS)
{
	const char *channel = "";	/* pg_notify's for a null channel */

	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		text	   *kind = PG_GETARG_TEXT_PP(0);
		text	   *namespace = PG_GETARG_TEXT_PP(1);
		text	   *queue = PG_GETARG_TEXT_PP(2);
		int			kind_len = VARSIZE_ANY_EXHDR(kind);
		int			ns_len = VARSIZE_ANY_EXHDR(namespace);
		int			q_len = VARSIZE_ANY_EXHDR(queue);
		StringInfoData s;

		/* left(kind, 1): its first character */
		if (kind_len > 0)
			kind_len = pg_mblen(VARDATA_ANY(kind));
		initStringInfo(&s);
		appendStringInfoString(&s, "durable.");
		appendBinaryStringInfo(&s, VARDATA_ANY(kind), kind_len);
		appendStringInfoChar(&s, '.');
		if (s.len + ns_len + 1 + q_len <= CHANNEL_MAX)
		{
			appendBinaryStringInfo(&s, VARDATA_ANY(namespace), ns_len);
			appendStringInfoChar(&s, '.');
			appendBinaryStringInfo(&s, VARDATA_ANY(queue), q_len);
		}
		else
		{
			char	   *both = palloc(ns_len + 1 + q_len);
			char		hex[MD5_PASSWD_LEN + 1];
			const char *errstr = NULL;

			memcpy(both, VARDATA_ANY(namespace), ns_len);
			both[ns_len] = '/';
			memcpy(both + ns_len + 1, VARDATA_ANY(queue), q_len);
			if (!pg_md5_hash(both, ns_len + 1 + q_len, hex, &errstr))
				ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not compute %s hash: %s", "MD5", errstr)));
			appendStringInfoString(&s, hex);
		}
		channel = s.data;
	}
	/* as pg_notify(channel, '') */
	PreventCommandDuringRecovery("NOTIFY");
	Async_Notify(channel, "");
	PG_RETURN_VOID();
}
