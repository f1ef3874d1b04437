/*
 * history_pack.h: how an event is stored in durable.history_rows
 * (src/history_pack.c): its type as a code, its attributes packed.
 */
#ifndef DURABLE_HISTORY_PACK_H
#define DURABLE_HISTORY_PACK_H

#include "utils/jsonb.h"

/* the event type's code; 0 when it has none (its name is then packed) */
extern int16 DurableEventCode(const char *type, int len);
/* the event type's name, from its code and packed attributes */
extern text *DurableEventType(int16 code, Datum packed);
/* attributes, packed for event event_id of type of run (a uuid) */
extern Jsonb *DurableEventPack(Datum run, int64 event_id, const char *type, int type_len, Jsonb *attributes);
/* the attributes as written, pushed onto state as one value */
extern JsonbValue *DurableEventUnpackPush(JsonbParseState **state, Datum run, int64 event_id, Jsonb *packed);

#endif
