/*
 * payload_limit.c: durable._max_payload(), the byte limit of the payload rule
 * (durable.max_payload_bytes), read by _check_payload for every payload.
 *
 * The SQL body read the setting as text and parsed it back to bytes (it is
 * shown in the largest unit that divides it); the GUC's own variable already
 * holds the bytes.
 */
#include "postgres.h"

#include "fmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_max_payload);

Datum
durable_max_payload(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) durable_max_payload_bytes);
}
