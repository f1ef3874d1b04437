/*
 * JSON text for what the worker sends to the store. jansson prints doubles
 * with 17 significant digits, so 0.1 left as 0.10000000000000001 and a
 * search attribute of 3.14 stopped matching a filter for 3.14. Here every
 * double is printed in the shortest form that reads back as the same
 * double (%.1g to %.17g), integers exactly (json_int_t is 64-bit).
 */
#ifndef DURABLE_JSON_TEXT_H
#define DURABLE_JSON_TEXT_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

/* Eight bytes at a time (the reader checks and scans every text it reads,
 * the writer quotes every string it sends: byte by byte these were a fifth
 * of the worker's instructions). Each test is the classic "has a zero
 * byte" one: exact as to whether any byte of w is one, and as to which is
 * the first. */
#define DURABLE__BYTES(c) ((uint64_t)0x0101010101010101 * (c))
#define DURABLE__HIGH_BITS DURABLE__BYTES(0x80)
#define DURABLE__HAS_ZERO(w) (((w) - DURABLE__BYTES(1)) & ~(w) & DURABLE__HIGH_BITS)
#define DURABLE__HAS_BELOW(w, c) (((w) - DURABLE__BYTES(c)) & ~(w) & DURABLE__HIGH_BITS)
/* some byte of w is '"', '\\' or a control character: one JSON escapes */
#define DURABLE__WORD_SPECIAL(w)                                                                                 \
	(DURABLE__HAS_ZERO((w) ^ DURABLE__BYTES('"')) | DURABLE__HAS_ZERO((w) ^ DURABLE__BYTES('\\')) |          \
	 DURABLE__HAS_BELOW(w, 0x20))

static inline uint64_t durable__word_at(const void *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

/* Compact JSON text of any value (scalars too); malloc'd, NULL when out of memory. */
char *durable__json_text(const json_t *v);

/* s (n bytes of valid UTF-8) quoted and escaped as jansson's compact dump
 * writes a string, at out, which has room for 6 * n + 3 bytes; returns the
 * bytes written (no NUL). Writes a key without making a json_t of it. */
size_t durable__json_quote(char *out, const char *s, size_t n);

/* The shortest "%.{1..17}g" of d that strtod reads back as d, in buf (>= 32 bytes). */
void durable__json_double(double d, char *buf, size_t size);

/*
 * json_loadb, except that an integer beyond 64 bits (jsonb writes 6.02e23
 * as 602214076000000000000000) is read as a double instead of failing the
 * whole document; every other integer stays exact.
 */
json_t *durable__json_load(const char *text, size_t len, size_t flags, json_error_t *err);
/* Its fast path (json_load.c): the same values for what it reads, NULL for
 * anything it leaves to jansson (text that is not JSON among it); flags 0
 * or JSON_DECODE_ANY. */
json_t *durable__json_read(const char *text, size_t len, size_t flags);
/* The same, and *seen set when some object of it has the key key (its
 * name after escapes are read): what the caller would otherwise search the
 * whole tree for (a payload codec's field). */
json_t *durable__json_read_watch(const char *text, size_t len, size_t flags, const char *key, int *seen);
/* Whether text[0..n) is UTF-8 as jansson takes it (json_string refuses
 * what is not): no overlong forms, no surrogates, nothing past U+10FFFF. */
int durable__utf8_ok(const char *text, size_t n);
/* and what it falls back to: jansson's reader, then big integers as reals */
json_t *durable__json_load_jansson(const char *text, size_t len, size_t flags, json_error_t *err);

/* The JSON a context owns (durable_json, durable_activity_json,
 * durable_test_json and their _keep): json_pack's format. NULL on a bad
 * format or out of memory, with why written ("<caller>(\"fmt\"): jansson's
 * reason") and *oom set when memory ran out. */
json_t *durable__vpack(const char *caller, const char *fmt, va_list ap, char *why, size_t whylen, int *oom);
/* Hands value (a reference) to *pool, made on first use: 0, or -ENOMEM
 * (value released) with *why set; a NULL value (what the caller built
 * failed) is refused the same way. */
int durable__pool_add(json_t **pool, json_t *value, const char **why);

/* A copy of v (a new reference; NULL when out of memory) whose objects list
 * their keys as jsonb gives them back: shorter keys first, then bytewise.
 * What the store returns of a value is then what the code saw of it. */
json_t *durable__jsonb_order(json_t *v);

/* About the bytes v holds (its nodes, strings and keys): to bound what a
 * kept run keeps, not an exact count. */
size_t durable__json_bytes(const json_t *v);

/* {k1: s1, k2: v2} (v2 stolen, released on failure), as json_pack's
 * "{s:s, s:o}" builds it without reading a format at every call (the
 * outcome of every task and activity); NULL when s1 is not UTF-8 or
 * memory ran out. */
json_t *durable__json_pair(const char *k1, const char *s1, const char *k2, json_t *v2);

/* json_alloc.c: jansson's small blocks kept for reuse by the calling
 * thread until end (durable_worker_run's loop thread). begin gives NULL
 * when the thread has a pool already, or the host set jansson's allocator:
 * nothing changes then. */
typedef struct durable__json_pool durable__json_pool_t;
durable__json_pool_t *durable__json_pool_begin(void);
void durable__json_pool_end(durable__json_pool_t *p);
/* What a pool keeps at most (bytes; tests lower it). */
#define DURABLE__JSON_POOL_MAX ((size_t)32 << 20)
extern size_t durable__json_pool_max;
/* The bytes p keeps for reuse in the class of blocks of size bytes. */
size_t durable__json_pool_kept(const durable__json_pool_t *p, size_t size);

#endif
