/*
 * The fuzzer's mutator. Valid documents mutated where they are structured
 * find more than random bytes: a store that checks "is this JSON" but not
 * "is this duration a number below 100 years" only shows it to inputs that
 * stay JSON. Raw tokens JSON cannot hold (NaN, 1e999, lone surrogates, deep
 * nesting) are spliced in as text after the tree is written out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mutate.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

#define PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* Every key any target knows: renaming to a sibling's key finds mix-ups. */
static const char *const keys[] = {
	"type", "id", "task_queue", "input", "options", "execution_timeout", "run_timeout",
	"task_timeout", "id_reuse_policy", "memo", "search_attributes", "identity",
	"activity_id", "activity_type", "start_to_close_timeout", "schedule_to_close_timeout",
	"schedule_to_start_timeout", "heartbeat_timeout", "retry_policy", "initial_interval",
	"backoff_coefficient", "maximum_interval", "maximum_attempts",
	"non_retryable_error_types", "timer_id", "start_to_fire_timeout", "scheduled_event_id",
	"workflow_id", "workflow_type", "signal_name", "run_id", "child_workflow_only", "reason",
	"marker_name", "details", "result", "failure", "message", "non_retryable",
	"parent_close_policy", "workflow_execution_timeout", "workflow_run_timeout",
	"workflow_task_timeout", "workflow_id_reuse_policy", "cron", "interval", "every",
	"offset", "start_at", "end_at", "overlap_policy", "catchup_window", "paused", "note",
	"remaining_actions", "spec", "action", "policies", "timezone", "", "TYPE", "type ",
};

static const char *const odd_strings[] = {
	"", " ", "0", "-1", "1e309", "NaN", "Infinity", "-Infinity", "1 day", "-1 day",
	"100 years", "100 years 1 second", "1000000 years", "P1D", "PT-1S", "infinity",
	"-infinity", "00:00:01", "1 microsecond", "0.000001", "2026-01-01T00:00:00Z",
	"9999-12-31T23:59:59Z", "0001-01-01", "294277-01-01", "'; DROP TABLE durable.workflows; --",
	"../../etc/passwd", "a/b", "/", ".", "..", "\n", "\t", "\r\n", "%s%n%x", "$1", "null",
	"true", "\xc3\xbc", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x99\x82", "\xe2\x80\xae", "\xef\xbb\xbf",
	"\x01\x1f", "* * * * *", "*/0 * * * *", "61 25 32 13 8", "@yearly", "@every 0s",
	"0 0 31 2 *", "MON-SUN", "0-7", "7", "SUN-SAT", "CRON_TZ=Europe/Paris 30 2 * * *",
	"CRON_TZ=Nowhere/Else * * * * *", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe",
	"Etc/GMT+14", "UTC+99", "posixrules", "@every 1s", "@reboot", "SKIP", "ALLOW_ALL", "TERMINATE_IF_RUNNING", "BUFFER_ALL",
	"REJECT_DUPLICATE", "ScheduleActivityTask", "StartTimer", "CompleteWorkflowExecution",
	"ContinueAsNewWorkflowExecution", "StartChildWorkflowExecution", "a1.1", "w1.1",
	"a9223372036854775807.9223372036854775807",
};

/* Raw tokens, spliced in as text: JSON (or jansson) cannot carry them. */
static const char *const raw_tokens[] = {
	"NaN", "Infinity", "-Infinity", "1e999999", "-1e999999", "1e-999999", "-0",
	"123456789012345678901234567890", "9223372036854775808", "-9223372036854775809",
	"1E+308", "0.1e1", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u0000\"", "\"\\uffff\"",
	"\"x\\u0000y\"", "01", "+1", ".5", "0x10", "true1", "nul", "'single'", "{\"a\":1,\"a\":2}",
	"[1,]", "{,}", "\"\\x\"",
};

static json_t *number(struct rng *r)
{
	static const double reals[] = {
		0.0, -0.0, 0.5, -0.5, 1e-9, 1e308, -1e308, 1e-308, 4294967296.5, 3153600000.0,
		3153600001.0, 3.1536e9 + 86400, 1e15, 9.2233720368547758e18, 1.8446744073709552e19,
	};
	static const json_int_t ints[] = {
		0, 1, -1, 2, 255, 256, 1000, 1001, 65535, 65536, 2147483647, -2147483648LL,
		2147483648LL, 4294967295LL, 9223372036854775807LL, -9223372036854775807LL - 1,
		86400, 3153600000LL, 3153600001LL, 10000, 10001,
	};
	if (rng_below(r, 3) == 0)
		return json_real(PICK(r, reals));
	return json_integer(PICK(r, ints));
}

static json_t *long_string(struct rng *r)
{
	static const size_t sizes[] = { 256, 4096, 65537, 300000, 2200000 };
	size_t n = sizes[rng_below(r, rng_below(r, 50) == 0 ? 5 : 4)];
	const char *unit = rng_below(r, 2) ? "x" : "\xf0\x9f\x99\x82";
	size_t ul = strlen(unit);
	char *s = malloc(n * ul + 1);
	if (!s)
		return json_null();
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[n * ul] = '\0';
	json_t *j = json_stringn(s, n * ul);
	free(s);
	return j ? j : json_null();
}

/* Markers that the writer replaces with raw text: \x01R<index>\x01. */
static json_t *raw(struct rng *r)
{
	char m[32];
	snprintf(m, sizeof m, "\x01R%d\x01", (int)rng_below(r, sizeof raw_tokens / sizeof raw_tokens[0] + 1));
	return json_string(m);
}

static json_t *interesting(struct rng *r)
{
	switch (rng_below(r, 12)) {
	case 0: case 1: return number(r);
	case 2: case 3: return json_string(PICK(r, odd_strings));
	case 4: return long_string(r);
	case 5: return json_boolean(rng_below(r, 2));
	case 6: return json_null();
	case 7: return json_array();
	case 8: return json_object();
	case 9: case 10: return raw(r);
	default: {
		json_t *a = json_array();
		size_t n = rng_below(r, 4);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, rng_below(r, 2) ? number(r) : json_string(PICK(r, odd_strings)));
		return a;
	}
	}
}

/* A place in the tree: the value, and where it hangs (parent NULL: the root). */
struct slot {
	json_t *parent;
	char key[256];
	size_t index;
	json_t *value;
};

#define MAX_SLOTS 2048

static void collect(json_t *v, json_t *parent, const char *key, size_t index, struct slot *s,
		    int *n, int depth)
{
	if (*n >= MAX_SLOTS || depth > 64)
		return;
	struct slot *me = &s[(*n)++];
	me->parent = parent;
	snprintf(me->key, sizeof me->key, "%s", key ? key : "");
	me->index = index;
	me->value = v;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c)
			collect(c, v, k, 0, s, n, depth + 1);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			collect(json_array_get(v, i), v, NULL, i, s, n, depth + 1);
	}
}

/* Puts nv (stolen) where s was. */
static void put(json_t **root, struct slot *s, json_t *nv)
{
	if (!nv)
		return;
	if (!s->parent) {
		json_decref(*root);
		*root = nv;
	} else if (json_is_object(s->parent)) {
		json_object_set_new(s->parent, s->key, nv);
	} else {
		json_array_set_new(s->parent, s->index, nv);
	}
}

static void mutate_tree(struct rng *r, json_t **root)
{
	static struct slot slots[MAX_SLOTS];
	int n = 0;
	collect(*root, NULL, NULL, 0, slots, &n, 0);
	struct slot *s = &slots[rng_below(r, (uint64_t)n)];
	switch (rng_below(r, 9)) {
	case 0: case 1: case 2: /* another value, often of another type */
		put(root, s, interesting(r));
		break;
	case 3: /* drop it */
		if (s->parent && json_is_object(s->parent))
			json_object_del(s->parent, s->key);
		else if (s->parent)
			json_array_remove(s->parent, s->index);
		break;
	case 4: /* an extra key, known or not */
		if (json_is_object(s->value))
			json_object_set_new(s->value, rng_below(r, 4) ? PICK(r, keys) : "fuzz_extra",
					    interesting(r));
		else if (json_is_array(s->value))
			json_array_append_new(s->value, interesting(r));
		break;
	case 5: /* a key renamed to another's */
		if (s->parent && json_is_object(s->parent)) {
			json_t *v = json_incref(s->value);
			json_object_del(s->parent, s->key);
			json_object_set_new(s->parent, PICK(r, keys), v);
		}
		break;
	case 6: /* many of it */
		if (json_is_array(s->value) && json_array_size(s->value) > 0) {
			json_t *first = json_array_get(s->value, 0);
			size_t times = rng_below(r, 2) ? 17 : 1001;
			for (size_t i = 0; i < times; i++)
				json_array_append_new(s->value, json_deep_copy(first));
		} else {
			put(root, s, long_string(r));
		}
		break;
	case 7: { /* wrapped deep: the marker stands for nesting (see expand) */
		char m[32];
		static const int depths[] = { 10, 100, 1000, 5000, 100000 };
		snprintf(m, sizeof m, "\x01" "D%d\x01", depths[rng_below(r, 5)]);
		put(root, s, json_string(m));
		break;
	}
	default: /* the same value as a string, or a string as a number */
		if (json_is_number(s->value)) {
			char t[64];
			snprintf(t, sizeof t, "%.17g", json_number_value(s->value));
			put(root, s, json_string(t));
		} else if (json_is_string(s->value)) {
			put(root, s, json_real(strtod(json_string_value(s->value), NULL)));
		} else {
			put(root, s, raw(r));
		}
		break;
	}
}

struct text {
	char *p;
	size_t len, cap;
};

static void add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (!p)
			abort(); /* a test tool: out of memory ends the run visibly */
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* Replaces the markers of raw tokens and nesting with their text. */
static void expand(struct text *out, const char *s)
{
	const char *m;
	while ((m = strstr(s, "\"\\u0001")) != NULL) {
		const char *end = strstr(m + 7, "\\u0001\"");
		if (!end)
			break;
		add(out, s, (size_t)(m - s));
		int v = atoi(m + 8);
		if (m[7] == 'R') {
			const char *tok = v < (int)(sizeof raw_tokens / sizeof raw_tokens[0]) ? raw_tokens[v] : "";
			add(out, tok, strlen(tok));
		} else {
			for (int i = 0; i < v; i++)
				add(out, "[", 1);
			add(out, "1", 1);
			for (int i = 0; i < v; i++)
				add(out, "]", 1);
		}
		s = end + 7;
	}
	add(out, s, strlen(s));
}

/* Random damage to bytes: what a careless client or a bad disk sends. */
static void mutate_bytes(struct rng *r, struct text *t)
{
	if (t->len == 0) {
		add(t, "{", 1);
		return;
	}
	size_t at = rng_below(r, t->len);
	switch (rng_below(r, 5)) {
	case 0:
		t->p[at] = (char)rng_below(r, 256);
		break;
	case 1:
		t->len = at; /* truncated */
		t->p[at] = '\0';
		break;
	case 2: { /* garbage in */
		char g[16];
		size_t n = 1 + rng_below(r, sizeof g);
		for (size_t i = 0; i < n; i++)
			g[i] = (char)rng_below(r, 256);
		struct text u = { 0 };
		add(&u, t->p, at);
		add(&u, g, n);
		add(&u, t->p + at, t->len - at);
		free(t->p);
		*t = u;
		break;
	}
	case 3: { /* a raw token where a value might start */
		struct text u = { 0 };
		const char *tok = PICK(r, raw_tokens);
		add(&u, t->p, at);
		add(&u, tok, strlen(tok));
		add(&u, t->p + at, t->len - at);
		free(t->p);
		*t = u;
		break;
	}
	default: { /* a range removed */
		size_t n = rng_below(r, t->len - at + 1);
		memmove(t->p + at, t->p + at + n, t->len - at - n + 1);
		t->len -= n;
		break;
	}
	}
}

int mutate_bytes_only;

char *mutate_json(struct rng *r, const char *doc, size_t len, size_t *out_len)
{
	struct text out = { 0 };
	bool tree = rng_below(r, 10) != 0 && !mutate_bytes_only;
	json_t *root = tree ? json_loadb(doc, len, JSON_DECODE_ANY, NULL) : NULL;
	if (root) {
		int rounds = 1 + (int)rng_below(r, 3);
		for (int i = 0; i < rounds; i++)
			mutate_tree(r, &root);
		char *s = json_dumps(root, JSON_ENCODE_ANY | JSON_COMPACT);
		json_decref(root);
		if (!s)
			return NULL;
		expand(&out, s);
		free(s);
		if (rng_below(r, 8) == 0)
			mutate_bytes(r, &out);
	} else {
		add(&out, doc, len);
		int rounds = 1 + (int)rng_below(r, 4);
		for (int i = 0; i < rounds; i++)
			mutate_bytes(r, &out);
	}
	*out_len = out.len;
	return out.p;
}

static const char *const verbs[] = {
	"cancel", "terminate", "terminate fuzz says so", "reset 1", "reset 3", "reset 4 because",
	"pause", "pause a note", "unpause", "trigger", "trigger ALLOW_ALL", "trigger NOPE",
	"backfill 2026-01-01T00:00:00Z 2026-01-01T03:00:00Z",
	"backfill 2026-01-01T00:00:00Z 2025-01-01T00:00:00Z ALLOW_ALL", "backfill x y z w",
	"reset", "reset -1", "reset 0", "reset 99999999999999999999", "reset 1e3", "frobnicate", "delete", "delete why",
};

static const char *const words[] = {
	"", "0", "-1", "1", "3", "9223372036854775807", "9223372036854775808", "99999999999999999999",
	"NaN", "Infinity", "1e309", "0x10", "\xf0\x9f\x99\x82", "\xe2\x80\xae", "\x01", "\\", "'", "\"",
	"infinity", "-infinity", "294277-01-01T00:00:00Z", "4714-11-24 BC", "epoch", "now", "today",
	"2026-01-01T00:00:00Z", "ALLOW_ALL", "SKIP", "BUFFER_ALL", "TERMINATE_OTHER",
};

char *mutate_text(struct rng *r, const char *doc, size_t len, size_t *out_len)
{
	struct text out = { 0 };
	add(&out, doc, len);
	int rounds = 1 + (int)rng_below(r, 3);
	for (int i = 0; i < rounds; i++) {
		struct text u = { 0 };
		if (mutate_bytes_only) {
			mutate_bytes(r, &out);
			continue;
		}
		size_t at = out.len ? rng_below(r, out.len + 1) : 0;
		/* cut at a word boundary where there is one near */
		while (at > 0 && at < out.len && out.p[at - 1] != ' ' && out.p[at - 1] != '\n')
			at--;
		switch (rng_below(r, 7)) {
		case 0: case 1: { /* a word put in */
			add(&u, out.p, at);
			if (rng_below(r, 6)) {
				const char *w = PICK(r, words);
				add(&u, w, strlen(w));
			} else {
				for (int k = 0; k < 70000; k++)
					add(&u, "w", 1);
			}
			add(&u, " ", 1);
			add(&u, out.p + at, out.len - at);
			break;
		}
		case 2: { /* a verb line more */
			const char *v = PICK(r, verbs);
			add(&u, out.p, out.len);
			add(&u, v, strlen(v));
			add(&u, "\n", 1);
			break;
		}
		case 3: { /* the whole write many times: the verb limit */
			int times = rng_below(r, 2) ? 16 : 17 + (int)rng_below(r, 40);
			for (int k = 0; k < times; k++)
				add(&u, out.p, out.len);
			break;
		}
		case 4: /* line ends and spacing */
			add(&u, out.p, at);
		{
			const char *sp = PICK(r, ((const char *const[]){ "\r", "\n\n", "\t", "   ", "\r\n", "\0" }));
			add(&u, sp, sp[0] ? strlen(sp) : 1); /* "\0": a NUL byte */
		}
			add(&u, out.p + at, out.len - at);
			break;
		default:
			add(&u, out.p, out.len);
			mutate_bytes(r, &u);
			break;
		}
		free(out.p);
		out = u;
	}
	*out_len = out.len;
	return out.p;
}
