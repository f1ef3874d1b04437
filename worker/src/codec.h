/* Payload codecs inside the worker: which parts of what the worker sends
 * are payloads (they get encoded), and decoding every encoded payload of
 * what it receives. See durable_codec_t in durable.h. */
#ifndef DURABLE_CODEC_H
#define DURABLE_CODEC_H

#include <stddef.h>
#include "durable.h"

typedef struct {
	durable_codec_t *v;     /* the last one encodes */
	size_t n;
} durable__codecs_t;

int durable__codecs_add(durable__codecs_t *c, const durable_codec_t *codec);
void durable__codecs_free(durable__codecs_t *c);

/* Each returns a new reference, or NULL with the reason in err; none
 * changes what it is given (values may be shared with the history cache). */

/* One payload: encoded by the newest codec; null, and everything when
 * there is no codec, is returned as it is. */
json_t *durable__encode(const durable__codecs_t *c, json_t *value, char *err, size_t errlen);
/* A failure object ({message, type, details...}) with its details encoded. */
json_t *durable__encode_failure(const durable__codecs_t *c, json_t *failure, char *err, size_t errlen);
/* A workflow task's commands with their payloads encoded. */
json_t *durable__encode_commands(const durable__codecs_t *c, json_t *commands, char *err, size_t errlen);
/* v with every encoded payload in it, at any depth, decoded. Without a
 * codec for a payload it fails, naming the codec and key it needs. */
json_t *durable__decode(const durable__codecs_t *c, json_t *v, char *err, size_t errlen);
/* The same for a value of the caller's (stolen; NULL gives NULL). */
json_t *durable__decode_owned(const durable__codecs_t *c, json_t *v, char *err, size_t errlen);

/* The "type" of a failure that a codec caused. */
#define DURABLE__CODEC_FAILURE "PayloadCodecError"

#endif
