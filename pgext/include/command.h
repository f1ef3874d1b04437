/*
 * command.h: what a workflow task's commands share in C (check_keys.c,
 * event_attrs.c) with the command applied there (cmd_schedule.c).
 */
#ifndef DURABLE_COMMAND_H
#define DURABLE_COMMAND_H

#include "access/htup.h"
#include "utils/jsonb.h"

/* obj's keys, each one of allowed (NULL: any passes; allowed_len NULL: strlen's); what names obj in the errors */
extern void DurableCheckKeys(Jsonb *obj, int n_allowed, const char *const *allowed, const int *allowed_len,
							 const char *what);
/* the keys of a priority that differ from the defaults, pushed into an object being built */
extern void DurablePushPriorityAttrs(JsonbParseState **state, int16 priority, bool priority_null, text *fairness_key,
									 float8 weight, bool weight_null);

/* a jsonb pushed as a value, null when NULL (jsonb_push.c; durable.h has its other helpers) */
extern void DurableJsonbPushJsonb(JsonbParseState **state, Jsonb *j);
/* a JSON value as ->> gives it: a string's text, NULL for null, other values' JSON text (jsonb_push.c) */
extern text *DurableJsonbValueText(JsonbValue *v);

/* _check_payload(payload, what) (cmd_schedule.c) */
extern void DurableCheckPayload(Jsonb *payload, const char *what);
/* _check_name(name, field) (cmd_schedule.c) */
extern text *DurableCheckName(text *name, const char *field);

#endif
