/*
 * caller.c: the role a durable call is made for.
 *
 * Every entry point is SECURITY DEFINER, so inside it current_user is the
 * extension's owner, not the caller. session_user is no better: SET ROLE
 * does not change it, so a daemon that logs in once and SET ROLEs to each
 * of its callers (durablefs with allow_other) would lend its own grants to
 * all of them. The outer user is the one PostgreSQL itself checks privileges
 * for outside any SECURITY DEFINER function: the session user, or the role
 * SET ROLE chose. SECURITY DEFINER functions in between (durable's own, or a
 * wrapper of the application's) do not change it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(durable_caller_role);

/* durable._caller_role() returns oid */
Datum
durable_caller_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
