/* Payload codecs: the worker's side of durable_codec_t. Encoding knows
 * where the payloads of each command are; decoding does not need to (an
 * encoded payload says so itself), so it walks whatever it is handed and
 * works for every event type, today's and later ones. Both copy on write:
 * what they are given may be shared with the history cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "json_text.h"

/* A decoded payload may itself be encoded (a chain of codecs): this many
 * layers are peeled at most. */
#define MAX_LAYERS 4

int durable__codecs_add(durable__codecs_t *c, const durable_codec_t *codec)
{
	size_t len = codec && codec->name ? strlen(codec->name) : 0;
	if (!codec || !codec->encode || !codec->decode || len == 0 || len > 64 ||
	    strspn(codec->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len) {
		if (codec && codec->free)
			codec->free(codec->arg);
		return -EINVAL;
	}
	durable_codec_t *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v) {
		if (codec->free)
			codec->free(codec->arg);
		return -ENOMEM;
	}
	c->v = v;
	c->v[c->n++] = *codec;
	return 0;
}

void durable__codecs_free(durable__codecs_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].free)
			c->v[i].free(c->v[i].arg);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

json_t *durable__encode(const durable__codecs_t *c, json_t *value, char *err, size_t errlen)
{
	if (!value || c->n == 0 || json_is_null(value))
		return json_incref(value ? value : json_null());
	const durable_codec_t *codec = &c->v[c->n - 1];
	char *text = durable__json_text(value);
	json_t *out = json_pack("{s:s}", DURABLE_CODEC_FIELD, codec->name);
	if (!text || !out) {
		snprintf(err, errlen, "out of memory encoding a payload");
		free(text);
		json_decref(out);
		return NULL;
	}
	int rc = codec->encode(codec->arg, text, strlen(text), out, err, errlen);
	free(text);
	if (rc < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* copy with key set to v (stolen), or NULL when either is missing. */
static json_t *set_or_fail(json_t *copy, const char *key, json_t *v, char *err, size_t errlen)
{
	if (!copy || !v || json_object_set_new(copy, key, v) < 0) {
		if (v && !copy)
			snprintf(err, errlen, "out of memory encoding a payload");
		if (!copy)
			json_decref(v);
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* obj, or a shallow copy of it with key set to the encoded payload (or,
 * each_member, with every member of that object encoded). */
static json_t *with_encoded(const durable__codecs_t *c, json_t *obj, const char *key, int each_member,
			    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v) || c->n == 0)
		return json_incref(obj);
	json_t *enc = NULL;
	if (each_member && json_is_object(v)) {
		const char *k;
		json_t *m;
		enc = json_object();
		json_object_foreach(v, k, m) {
			json_t *e = enc ? durable__encode(c, m, err, errlen) : NULL;
			if (!e || json_object_set_new(enc, k, e) < 0) {
				json_decref(enc);
				return NULL;
			}
		}
	} else {
		enc = durable__encode(c, v, err, errlen);
	}
	return set_or_fail(enc ? json_copy(obj) : NULL, key, enc, err, errlen);
}

json_t *durable__encode_failure(const durable__codecs_t *c, json_t *failure, char *err, size_t errlen)
{
	if (!json_is_object(failure))
		return durable__encode(c, failure, err, errlen);
	return with_encoded(c, failure, "details", 0, err, errlen);
}

/* The payloads of each command type: a member that is one payload, or
 * (marker details) an object whose every member is one; "failure" is a
 * failure object. */
static json_t *encode_command(const durable__codecs_t *c, json_t *cmd, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(cmd, "type"));
	if (!type)
		return json_incref(cmd);
	if (strcmp(type, "ScheduleActivityTask") == 0 || strcmp(type, "StartChildWorkflowExecution") == 0 ||
	    strcmp(type, "SignalExternalWorkflowExecution") == 0 ||
	    strcmp(type, "ContinueAsNewWorkflowExecution") == 0)
		return with_encoded(c, cmd, "input", 0, err, errlen);
	if (strcmp(type, "CompleteWorkflowExecution") == 0)
		return with_encoded(c, cmd, "result", 0, err, errlen);
	if (strcmp(type, "CancelWorkflowExecution") == 0)
		return with_encoded(c, cmd, "details", 0, err, errlen);
	if (strcmp(type, "RecordMarker") == 0)
		return with_encoded(c, cmd, "details", 1, err, errlen);
	if (strcmp(type, "CompleteWorkflowUpdate") == 0) {
		json_t *r = with_encoded(c, cmd, "result", 0, err, errlen);
		json_t *f = json_object_get(r, "failure");
		if (!r || !f)
			return r;
		json_t *ef = durable__encode_failure(c, f, err, errlen);
		json_t *copy = ef ? json_copy(r) : NULL;   /* r may be cmd itself */
		json_decref(r);
		return set_or_fail(copy, "failure", ef, err, errlen);
	}
	if (strcmp(type, "FailWorkflowExecution") == 0 && json_is_object(json_object_get(cmd, "failure"))) {
		json_t *ef = durable__encode_failure(c, json_object_get(cmd, "failure"), err, errlen);
		return set_or_fail(ef ? json_copy(cmd) : NULL, "failure", ef, err, errlen);
	}
	return json_incref(cmd);   /* timers, cancellations, search attributes: no payloads */
}

json_t *durable__encode_commands(const durable__codecs_t *c, json_t *commands, char *err, size_t errlen)
{
	if (c->n == 0)
		return json_incref(commands);
	json_t *out = json_array();
	size_t i;
	json_t *cmd;
	json_array_foreach(commands, i, cmd) {
		json_t *e = out ? encode_command(c, cmd, err, errlen) : NULL;
		if (!e || json_array_append_new(out, e) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static const durable_codec_t *find(const durable__codecs_t *c, const char *name)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

/* One encoded payload (an object with DURABLE_CODEC_FIELD), decoded. */
static json_t *decode_payload(const durable__codecs_t *c, json_t *enc, int layer, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(enc, DURABLE_CODEC_FIELD));
	const char *key = json_string_value(json_object_get(enc, "key"));
	if (!name) {
		snprintf(err, errlen, "a payload's \"%s\" member is not a string", DURABLE_CODEC_FIELD);
		return NULL;
	}
	const durable_codec_t *codec = find(c, name);
	if (!codec) {
		snprintf(err, errlen,
			 "a payload is encoded with codec \"%s\"%s%s%s, and no codec here decodes it "
			 "(give the worker --codec-key FILE with that key)",
			 name, key ? " (key \"" : "", key ? key : "", key ? "\")" : "");
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	if (codec->decode(codec->arg, enc, &text, &len, err, errlen) < 0)
		return NULL;
	json_error_t jerr;
	json_t *v = durable__json_load(text, len, JSON_DECODE_ANY, &jerr);
	free(text);
	if (!v) {
		snprintf(err, errlen, "a payload of codec \"%s\" decodes to text that is not JSON: %s", name, jerr.text);
		return NULL;
	}
	if (json_is_object(v) && json_object_get(v, DURABLE_CODEC_FIELD)) {
		json_t *inner = layer + 1 < MAX_LAYERS ? decode_payload(c, v, layer + 1, err, errlen) : NULL;
		if (layer + 1 >= MAX_LAYERS)
			snprintf(err, errlen, "a payload is encoded more than %d times over", MAX_LAYERS);
		json_decref(v);
		return inner;
	}
	return v;
}

/* Decodes m, the member key (of an object) or i (of an array) of v; at the
 * first change *copy becomes a shallow copy of v, which takes each decoded
 * member from then on. 0, or -1 with err set. */
static int decode_member(const durable__codecs_t *c, json_t *v, json_t **copy, const char *key, size_t i,
			 json_t *m, char *err, size_t errlen)
{
	json_t *d = durable__decode(c, m, err, errlen);
	if (!d)
		return -1;
	if (d != m && !*copy && !(*copy = json_copy(v))) {
		json_decref(d);
		snprintf(err, errlen, "out of memory decoding payloads");
		return -1;
	}
	if (*copy && (key ? json_object_set(*copy, key, d) : json_array_set(*copy, i, d)) < 0) {
		json_decref(d);
		snprintf(err, errlen, "out of memory decoding payloads");
		return -1;
	}
	json_decref(d);
	return 0;
}

json_t *durable__decode(const durable__codecs_t *c, json_t *v, char *err, size_t errlen)
{
	json_t *copy = NULL, *m;
	const char *k;
	size_t i;
	int rc = 0;
	if (json_is_object(v) && json_object_get(v, DURABLE_CODEC_FIELD))
		return decode_payload(c, v, 0, err, errlen);
	if (json_is_object(v))
		json_object_foreach(v, k, m) {
			if ((rc = decode_member(c, v, &copy, k, 0, m, err, errlen)) < 0)
				break;
		}
	else if (json_is_array(v))
		json_array_foreach(v, i, m) {
			if ((rc = decode_member(c, v, &copy, NULL, i, m, err, errlen)) < 0)
				break;
		}
	if (rc < 0) {
		json_decref(copy);
		return NULL;
	}
	return copy ? copy : json_incref(v);
}

json_t *durable__decode_owned(const durable__codecs_t *c, json_t *v, char *err, size_t errlen)
{
	json_t *d = v ? durable__decode(c, v, err, errlen) : NULL;
	json_decref(v);
	return d;
}
