/* Compact JSON text with shortest round-trip doubles (json_text.h). */
#include "json_text.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Room for n more bytes and the NUL; false (and t->oom) when there is none. */
static bool reserve(struct text *t, size_t n)
{
	if (t->oom)
		return false;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return false;
		}
		t->p = p;
		t->cap = cap;
	}
	return true;
}

static void put(struct text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

size_t durable__json_quote(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = out;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (n - i >= 8 && !DURABLE__WORD_SPECIAL(durable__word_at(s + i))) {
			memcpy(o, s + i, 8);   /* nothing to escape */
			o += 8;
			i += 7;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		const char *named = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
				    : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (named) {
			*o++ = named[0];
			*o++ = named[1];
		} else if (c < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}

/* A key or a string, quoted straight into t: one json_t made and freed per
 * key, and jansson's dump of a string (which sets up a table of the
 * containers it is in for every call), were most of what a dump cost. */
static void put_quoted(struct text *t, const char *s, size_t n)
{
	if (!reserve(t, 6 * n + 3))
		return;
	t->len += durable__json_quote(t->p + t->len, s, n);
	t->p[t->len] = '\0';
}

void durable__json_double(double d, char *buf, size_t size)
{
	/* a whole number below 1e15 (a command's timeout in seconds, 300.0)
	 * prints as the loop below prints it, its digits and ".0", without
	 * the loop's snprintf and strtod pairs (6,000 instructions a call) */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
		long long v = (long long)d;
		snprintf(buf, size, "%s%lld.0", v == 0 && signbit(d) ? "-" : "", v);
		return;
	}
	/* shortest first: 0.1 is found at once, 0.30000000000000004 at 17 */
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, size, "%.*g", prec, d);
	/* 100.0 is "1e+02" at 1 digit: below 1e17, write it out as people do */
	char *x = strchr(buf, 'e');
	if (x && x[1] == '+') {
		int exp10 = atoi(x + 2);
		if (exp10 < 17)
			snprintf(buf, size, "%.*g", exp10 + 1 > prec ? exp10 + 1 : prec, d);
	}
	/* "1e-07" -> "1e-7", "1e+22" -> "1e22": the exponent as people write it */
	char *e = strchr(buf, 'e');
	if (e) {
		char *digits = e + 1, *from = e + 1;
		if (*from == '+')
			from++;
		else if (*from == '-')
			digits++, from++;
		while (*from == '0' && from[1])
			from++;
		memmove(digits, from, strlen(from) + 1);
	} else if (!strchr(buf, '.') && !strchr(buf, 'n') && !strchr(buf, 'i')) {
		/* still a real when read back, as jansson prints it */
		strncat(buf, ".0", size - strlen(buf) - 1);
	}
}

static void put_value(struct text *t, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		put(t, "{", 1);
		bool first = true;
		for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
			if (!first)
				put(t, ",", 1);
			first = false;
			put_quoted(t, json_object_iter_key(it), json_object_iter_key_len(it));
			put(t, ":", 1);
			put_value(t, json_object_iter_value(it));
		}
		put(t, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		put(t, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				put(t, ",", 1);
			put_value(t, json_array_get(v, i));
		}
		put(t, "]", 1);
		break;
	}
	case JSON_STRING:
		put_quoted(t, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		char buf[32];
		put(t, buf, (size_t)snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		break;
	}
	case JSON_TRUE:
		put(t, "true", 4);
		break;
	case JSON_FALSE:
		put(t, "false", 5);
		break;
	case JSON_NULL:
		put(t, "null", 4);
		break;
	case JSON_REAL: {
		char buf[40];
		durable__json_double(json_real_value(v), buf, sizeof buf);
		put_str(t, buf);
		break;
	}
	default:   /* there is no other type */
		t->oom = true;
		break;
	}
}

char *durable__json_text(const json_t *v)
{
	struct text t = { 0 };
	put_value(&t, v ? v : json_null());
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	return t.p;
}

/* The text again, with ".0" after every integer literal that overflows 64 bits. */
static char *reals_for_big_integers(const char *text, size_t len, size_t *out_len)
{
	struct text t = { 0 };
	bool in_string = false;
	size_t i = 0;
	while (i < len) {
		char c = text[i];
		if (in_string) {
			size_t from = i;
			while (i < len && text[i] != '"') /* skip escaped characters whole */
				i += text[i] == '\\' && i + 1 < len ? 2 : 1;
			if (i < len)
				i++, in_string = false;
			put(&t, text + from, i - from);
		} else if (c == '"') {
			in_string = true;
			put(&t, "\"", 1);
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			/* the whole number: the digits of a fraction or an exponent
			 * are not an integer of their own (0.33333333333333333333,
			 * as numeric division writes it, took ".0" and stopped
			 * being JSON) */
			size_t from = i++;
			bool integer = true;
			while (i < len && text[i] >= '0' && text[i] <= '9')
				i++;
			size_t int_end = i;
			if (i < len && text[i] == '.') {
				integer = false;
				for (i++; i < len && text[i] >= '0' && text[i] <= '9'; i++)
					;
			}
			if (i < len && (text[i] == 'e' || text[i] == 'E')) {
				integer = false;
				if (++i < len && (text[i] == '+' || text[i] == '-'))
					i++;
				while (i < len && text[i] >= '0' && text[i] <= '9')
					i++;
			}
			put(&t, text + from, i - from);
			if (integer) {
				char digits[64];
				size_t n = int_end - from < sizeof digits - 1 ? int_end - from : sizeof digits - 1;
				memcpy(digits, text + from, n);
				digits[n] = '\0';
				errno = 0;
				(void)strtoll(digits, NULL, 10);
				if (errno == ERANGE || int_end - from >= sizeof digits - 1)
					put(&t, ".0", 2);
			}
		} else {
			put(&t, &text[i], 1);
			i++;
		}
	}
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	*out_len = t.len;
	return t.p;
}

json_t *durable__json_load(const char *text, size_t len, size_t flags, json_error_t *err)
{
	json_t *v = durable__json_read(text, len, flags);
	return v ? v : durable__json_load_jansson(text, len, flags, err);
}

json_t *durable__json_load_jansson(const char *text, size_t len, size_t flags, json_error_t *err)
{
	json_error_t local;
	if (!err)
		err = &local;
	json_t *v = json_loadb(text, len, flags, err);
	if (v || json_error_code(err) != json_error_numeric_overflow)
		return v;
	size_t n;
	char *again = reals_for_big_integers(text, len, &n);
	if (!again)
		return NULL;
	v = json_loadb(again, n, flags, err);
	free(again);
	return v;
}

json_t *durable__vpack(const char *caller, const char *fmt, va_list ap, char *why, size_t whylen, int *oom)
{
	json_error_t err;
	json_t *v = json_vpack_ex(&err, 0, fmt, ap);
	*oom = 0;
	if (!v) {
		snprintf(why, whylen, "%s(\"%.60s\"): %s", caller, fmt ? fmt : "", err.text);
		*oom = json_error_code(&err) == json_error_out_of_memory;
	}
	return v;
}

int durable__pool_add(json_t **pool, json_t *value, const char **why)
{
	if (!value) {
		*why = "a NULL value to keep: what it was built from failed";
		return -ENOMEM;
	}
	if (!*pool)
		*pool = json_array();
	if (!*pool || json_array_append_new(*pool, value) < 0) {
		if (!*pool)
			json_decref(value);
		*why = "out of memory keeping a JSON value";
		return -ENOMEM;
	}
	return 0;
}

/* jsonb's key order: shorter keys first, then bytewise. */
static int jsonb_key_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

json_t *durable__jsonb_order(json_t *v)
{
	if (json_is_array(v)) {
		json_t *out = json_array();
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			if (!out || json_array_append_new(out, durable__jsonb_order(item)) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (!json_is_object(v))
		return json_incref(v);
	size_t n = json_object_size(v), i = 0;
	const char **keys = malloc((n ? n : 1) * sizeof(*keys));
	json_t *out = json_object();
	const char *key;
	json_t *item;
	if (!keys || !out)
		goto fail;
	json_object_foreach(v, key, item)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), jsonb_key_cmp);
	for (i = 0; i < n; i++) {
		json_t *ordered = durable__jsonb_order(json_object_get(v, keys[i]));
		if (!ordered || json_object_set_new(out, keys[i], ordered) < 0)
			goto fail;
	}
	free(keys);
	return out;
fail:
	free(keys);
	json_decref(out);
	return NULL;
}

size_t durable__json_bytes(const json_t *v)
{
	size_t n = 64;   /* a node and malloc's overhead */
	if (json_is_string(v))
		return n + json_string_length(v);
	if (json_is_array(v)) {
		size_t i;
		const json_t *item;
		json_array_foreach(v, i, item)
			n += sizeof(void *) + durable__json_bytes(item);
	} else if (json_is_object(v)) {
		const char *key;
		const json_t *item;
		json_object_foreach((json_t *)v, key, item)
			n += 48 + strlen(key) + durable__json_bytes(item);
	}
	return n;
}

json_t *durable__json_pair(const char *k1, const char *s1, const char *k2, json_t *v2)
{
	json_t *o = json_object();
	if (!o || json_object_set_new(o, k1, json_string(s1)) < 0) {
		json_decref(v2);
		json_decref(o);
		return NULL;
	}
	/* json_object_set_new takes v2 even when it fails */
	if (json_object_set_new(o, k2, v2) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
