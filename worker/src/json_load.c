/*
 * The reader behind durable__json_load: JSON text (a history, an input, as
 * the store writes them) made into jansson values without jansson's own
 * reader, which copies every character of every token through a buffer and
 * checks it as UTF-8 one at a time. Reading polled histories with it was
 * about a third of the worker's CPU in the bench's shapes. Here a string
 * without escapes goes to jansson straight from the text, the text is
 * checked as UTF-8 once, and numbers are read in place.
 *
 * It reads what jansson reads (RFC 8259 JSON) into the same values, and
 * gives up on anything else: text that is not JSON, a number out of range,
 * "\u0000", nesting past jansson's depth, memory running out. Then
 * durable__json_load asks jansson, whose answer (and error) stands. (A NUL
 * byte after a number or literal, which jansson's stream skips, is among
 * them: jansson reads "[true\0]" as [true].) unit_json_load and
 * unit_json_fuzz compare the two.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json_text.h"

typedef struct {
	const char *p, *end;
	int depth;
	char *buf;        /* a string with escapes, decoded */
	size_t cap;
	const char *watch;   /* a key to look out for, */
	size_t watch_len;
	int seen;            /* found as a key of some object */
} reader_t;

static json_t *value(reader_t *r);

int durable__utf8_ok(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	while (i < n) {
		if (n - i >= 8 && !(durable__word_at(s + i) & DURABLE__HIGH_BITS)) {
			i += 8;   /* ASCII */
			continue;
		}
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
		if (len == 0 || i + len > n)
			return 0;
		uint32_t cp = c & (0xFF >> (len + 1));
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

static void skip_space(reader_t *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r'))
		r->p++;
}

static int room(reader_t *r, size_t need)
{
	if (need <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < need)
		cap *= 2;
	char *more = realloc(r->buf, cap);
	if (!more)
		return -1;
	r->buf = more;
	r->cap = cap;
	return 0;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The string whose opening quote r->p is past: *s and *n point at its
 * characters, in the text when it has no escapes, else decoded in r->buf.
 * -1 on anything jansson refuses. */
static int string(reader_t *r, const char **s, size_t *n)
{
	const char *from = r->p, *q = from;
	while (r->end - q >= 8) {
		uint64_t w = durable__word_at(q);
		if (DURABLE__WORD_SPECIAL(w))
			break;
		q += 8;
	}
	while (q < r->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	if (q >= r->end || (unsigned char)*q < 0x20)
		return -1;
	if (*q == '"') {
		*s = from;
		*n = (size_t)(q - from);
		r->p = q + 1;
		return 0;
	}
	/* escapes: decoded; a character takes no more bytes than its escape */
	if (room(r, (size_t)(r->end - from)) < 0)
		return -1;
	size_t len = (size_t)(q - from);
	memcpy(r->buf, from, len);
	while (q < r->end && *q != '"') {
		if ((unsigned char)*q < 0x20)
			return -1;
		if (*q != '\\') {
			r->buf[len++] = *q++;
			continue;
		}
		if (++q >= r->end)
			return -1;
		char c = *q++;
		switch (c) {
		case '"': case '\\': case '/': r->buf[len++] = c; break;
		case 'b': r->buf[len++] = '\b'; break;
		case 'f': r->buf[len++] = '\f'; break;
		case 'n': r->buf[len++] = '\n'; break;
		case 'r': r->buf[len++] = '\r'; break;
		case 't': r->buf[len++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (r->end - q < 4 || hex4(q, &cp) < 0)
				return -1;
			q += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* a high surrogate needs its low one */
				if (r->end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) < 0 || lo < 0xDC00 ||
				    lo > 0xDFFF)
					return -1;
				q += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
				return -1;   /* a lone low surrogate; "\u0000" (jansson's JSON_ALLOW_NUL) */
			}
			len += put_utf8(r->buf + len, cp);
			break;
		}
		default:
			return -1;
		}
	}
	if (q >= r->end)
		return -1;
	r->p = q + 1;
	*s = r->buf;
	*n = len;
	return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* JSON's number grammar; an integer that fits in 64 bits is an integer,
 * any other number a real (durable__json_load's rule for big integers),
 * read in the C locale as jansson reads it. */
static json_t *number(reader_t *r)
{
	const char *from = r->p, *q = from;
	int real = 0;
	if (q < r->end && *q == '-')
		q++;
	if (q < r->end && *q == '0')
		q++;
	else if (q < r->end && *q >= '1' && *q <= '9')
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	else
		return NULL;
	if (q < r->end && *q == '.') {
		real = 1;
		if (++q >= r->end || *q < '0' || *q > '9')
			return NULL;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		real = 1;
		if (++q < r->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= r->end || *q < '0' || *q > '9')
			return NULL;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	size_t n = (size_t)(q - from);
	if (!real && n <= 18) {
		/* at most 18 digits: no overflow, and strtoll's value */
		int neg = *from == '-';
		long long v = 0;
		for (const char *d = from + neg; d < q; d++)
			v = v * 10 + (*d - '0');
		r->p = q;
		return json_integer((json_int_t)(neg ? -v : v));
	}
	char digits[64];
	if (n >= sizeof(digits))
		return NULL;   /* jansson's, as rare as it is */
	memcpy(digits, from, n);
	digits[n] = '\0';
	r->p = q;
	if (!real) {
		errno = 0;
		long long v = strtoll(digits, NULL, 10);
		if (errno == 0)
			return json_integer((json_int_t)v);
	}
	pthread_once(&c_locale_once, make_c_locale);
	if (!c_locale)
		return NULL;
	errno = 0;
	double d = strtod_l(digits, NULL, c_locale);
	if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
		return NULL;   /* jansson refuses an overflow, takes an underflow */
	return json_real(d);
}

static int literal(reader_t *r, const char *word, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return -1;
	r->p += n;
	return 0;
}

static json_t *object(reader_t *r)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	skip_space(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return o;
	}
	for (;;) {
		const char *key;
		size_t n;
		json_t *v;
		skip_space(r);
		if (r->p >= r->end || *r->p++ != '"' || string(r, &key, &n) < 0)
			break;
		if (r->watch && n == r->watch_len && memcmp(key, r->watch, n) == 0)
			r->seen = 1;
		/* the value may decode a string of its own into r->buf */
		char small[64], *copy = key == r->buf ? (n < sizeof(small) ? small : malloc(n + 1)) : NULL;
		if (copy) {
			memcpy(copy, key, n);
			key = copy;
		} else if (key == r->buf) {
			break;
		}
		skip_space(r);
		v = r->p < r->end && *r->p == ':' ? (r->p++, value(r)) : NULL;
		int set = v ? json_object_setn_new_nocheck(o, key, n, v) : -1;
		if (copy && copy != small)
			free(copy);
		if (set < 0)
			break;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return o;
		}
		break;
	}
	json_decref(o);
	return NULL;
}

static json_t *array(reader_t *r)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	skip_space(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return a;
	}
	for (;;) {
		json_t *v = value(r);
		if (!v || json_array_append_new(a, v) < 0)
			break;
		skip_space(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return a;
		}
		break;
	}
	json_decref(a);
	return NULL;
}

static json_t *value(reader_t *r)
{
	skip_space(r);
	/* jansson's depth counts every value, a string or number too: one
	 * inside 2,048 arrays is too deep for it */
	if (r->p >= r->end || r->depth >= JSON_PARSER_MAX_DEPTH)
		return NULL;
	json_t *v = NULL;
	const char *s;
	size_t n;
	switch (*r->p) {
	case '{':
	case '[':
		r->depth++;
		v = *r->p++ == '{' ? object(r) : array(r);
		r->depth--;
		return v;
	case '"':
		r->p++;
		return string(r, &s, &n) < 0 ? NULL : json_stringn_nocheck(s, n);
	case 't':
		return literal(r, "true", 4) < 0 ? NULL : json_true();
	case 'f':
		return literal(r, "false", 5) < 0 ? NULL : json_false();
	case 'n':
		return literal(r, "null", 4) < 0 ? NULL : json_null();
	default:
		return number(r);
	}
}

json_t *durable__json_read(const char *text, size_t len, size_t flags)
{
	return durable__json_read_watch(text, len, flags, NULL, NULL);
}

json_t *durable__json_read_watch(const char *text, size_t len, size_t flags, const char *key, int *seen)
{
	if (seen)
		*seen = 0;
	if ((flags & ~(size_t)JSON_DECODE_ANY) != 0 || !durable__utf8_ok(text, len))
		return NULL;
	reader_t r = {.p = text, .end = text + len, .watch = key, .watch_len = key ? strlen(key) : 0};
	skip_space(&r);
	json_t *v = NULL;
	if (r.p < r.end && ((flags & JSON_DECODE_ANY) || *r.p == '{' || *r.p == '['))
		v = value(&r);
	skip_space(&r);
	if (v && r.p != r.end) {
		json_decref(v);
		v = NULL;
	}
	free(r.buf);
	if (v && seen)
		*seen = r.seen;
	return v;
}
