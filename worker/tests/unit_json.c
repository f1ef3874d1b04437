/*
 * Numbers keep their value on the way through the worker: doubles are
 * printed in the shortest form that reads back as the same double, integers
 * exactly (2^53 + 1 stays that integer), and text read and printed again is
 * unchanged for the forms people write.
 */
#include "check.h"
#include "json_text.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reads text with jansson as the worker does, prints it again. */
static char *again(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
	if (!v)
		return strdup(err.text);
	char *out = durable__json_text(v);
	json_decref(v);
	return out;
}

static void same(const char *text)
{
	char *out = again(text);
	CHECK(out && strcmp(out, text) == 0, "%s came back as %s", text, out ? out : "(null)");
	free(out);
}

int main(void)
{
	/* the document, through one activity */
	same("{\"price\":0.1,\"rate\":3.14,\"tiny\":1e-7}");
	/* money-like values */
	same("[19.99,0.3,1234567.89,0.01,99999999.99,-42.5]");
	same("0.30000000000000004"); /* 0.1 + 0.2 needs all 17 digits, and keeps them */
	/* integers: exact, including 2^53 + 1 and the int64 bounds */
	same("9007199254740993");
	same("[9223372036854775807,-9223372036854775808,0,-1]");
	/* exponents, extremes, and reals that look like integers */
	same("[1e300,5e-324,1.7976931348623157e308,2.2250738585072014e-308,1e22,1e-7]");
	same("[1.0,100.0,-0.0,123456789012.5]");
	/* key order, nesting, strings with escapes are jansson's own, unchanged */
	same("{\"b\":1,\"a\":[{\"x\":\"q\\\"u\u00e9\\n\"},null,true,false]}");

	/* every double printed reads back as the same double */
	srand(7);
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t bits = ((uint64_t)rand() << 62) ^ ((uint64_t)rand() << 31) ^ (uint64_t)rand();
		double d;
		memcpy(&d, &bits, sizeof d);
		if (!isfinite(d))
			continue;
		char buf[40];
		durable__json_double(d, buf, sizeof buf);
		if (strtod(buf, NULL) != d)
			bad++;
	}
	CHECK(bad == 0, "%d of 100000 random doubles did not read back", bad);

	/* whole numbers below 1e15 print as their digits and ".0", what the
	 * shortest-digits loop printed for each of them before they were
	 * printed without it (2,000,000 checked against that loop once) */
	bad = 0;
	for (int i = 0; i < 200000; i++) {
		long long v = i % 3 == 0 ? rand() % 100000 : (((long long)rand() << 20) ^ rand()) % 999999999999999LL;
		double d = i % 2 ? -(double)v : (double)v;
		char buf[40], want[40];
		durable__json_double(d, buf, sizeof buf);
		snprintf(want, sizeof want, "%.0f.0", d);
		bad += strcmp(buf, want) != 0;
	}
	CHECK(bad == 0, "%d of 200000 whole numbers not printed as digits and .0", bad);
	char whole[40];
	durable__json_double(-0.0, whole, sizeof whole);
	CHECK(strcmp(whole, "-0.0") == 0, "-0.0 keeps its sign: %s", whole);
	durable__json_double(1e15, whole, sizeof whole);
	CHECK(strcmp(whole, "1000000000000000.0") == 0, "1e15, past the short way: %s", whole);

	/* what the store sends: jsonb writes 1e-7 as 0.0000001; it comes back as the same number */
	char *out = again("0.0000001");
	CHECK(out && strtod(out, NULL) == 1e-7 && strlen(out) <= 9, "0.0000001 came back as %s", out);
	free(out);
	/* jsonb writes 6.02214076e23 as a 24-digit integer: it reads as that double,
	 * while the other integers of the document stay exact */
	const char *big = "{\"avogadro\":602214076000000000000000,\"big\":9007199254740993,\"s\":\"123456789012345678901234\"}";
	json_t *v = durable__json_load(big, strlen(big), 0, NULL);
	CHECK(v && json_is_real(json_object_get(v, "avogadro")) &&
	      json_real_value(json_object_get(v, "avogadro")) == 6.02214076e23, "avogadro read back");
	CHECK(v && json_integer_value(json_object_get(v, "big")) == 9007199254740993LL, "2^53 + 1 beside it stays exact");
	CHECK(v && strcmp(json_string_value(json_object_get(v, "s")), "123456789012345678901234") == 0,
	      "digits in a string are left alone");
	out = v ? durable__json_text(v) : NULL;
	CHECK(out && strcmp(out, "{\"avogadro\":6.02214076e23,\"big\":9007199254740993,\"s\":\"123456789012345678901234\"}") == 0,
	      "and prints as %s", out);
	free(out);
	json_decref(v);
	CHECK(durable__json_load("1e400", 5, JSON_DECODE_ANY, NULL) == NULL, "1e400 is beyond a double: refused");

	/* a side effect's value as jsonb gives it back: keys shorter first, then
	 * bytewise, at every depth; numbers untouched */
	const char *made = "{\"zz\":1,\"a\":[{\"bb\":0.1,\"b\":2,\"ab\":3}],\"B\":{\"y\":null,\"x\":9007199254740993}}";
	json_t *m = durable__json_load(made, strlen(made), 0, NULL);
	json_t *o = durable__jsonb_order(m);
	out = o ? durable__json_text(o) : NULL;
	CHECK(out && strcmp(out, "{\"B\":{\"x\":9007199254740993,\"y\":null},\"a\":[{\"b\":2,\"ab\":3,\"bb\":0.1}],\"zz\":1}") == 0,
	      "in jsonb's order: %s", out);
	free(out);
	json_decref(o);
	json_decref(m);

	/* keys are written by our own quoting, not jansson's: the same text,
	 * whatever the key holds (every byte below 0x20, quotes, backslashes,
	 * a slash, UTF-8, one long enough not to fit the stack buffer) */
	json_t *keys = json_object();
	char every[40], longkey[300];
	for (int c = 1; c < 0x20; c++)
		every[c - 1] = (char)c;
	strcpy(every + 31, "\"\\/");
	memset(longkey, '\n', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	json_object_set_new(keys, every, json_integer(1));
	json_object_set_new(keys, "d\xc3\xa9j\xc3\xa0 \xe2\x80\xa8", json_true());
	json_object_set_new(keys, longkey, json_pack("{s:s}", "in\tner", "v"));
	json_object_set_new(keys, "", json_null());
	char *ours = durable__json_text(keys), *theirs = json_dumps(keys, JSON_COMPACT);
	CHECK(ours && theirs && strcmp(ours, theirs) == 0, "keys as jansson quotes them: %s / %s", ours, theirs);
	free(ours);
	free(theirs);
	json_decref(keys);

	/* strings, integers and literals are written by our own code too: the
	 * same text as jansson's, as values and at the top */
	json_t *vals = json_array();
	json_array_append_new(vals, json_string(every));
	json_array_append_new(vals, json_string(longkey));
	json_array_append_new(vals, json_string("d\xc3\xa9j\xc3\xa0 \xe2\x80\xa8 \xf0\x9f\x98\x80 \x7f"));
	json_array_append_new(vals, json_stringn("nul\0inside", 11));
	json_array_append_new(vals, json_string(""));
	json_array_append_new(vals, json_integer(0));
	json_array_append_new(vals, json_integer(-9223372036854775807LL - 1));
	json_array_append_new(vals, json_integer(9223372036854775807LL));
	json_array_append_new(vals, json_true());
	json_array_append_new(vals, json_false());
	json_array_append_new(vals, json_null());
	json_array_append_new(vals, json_pack("{s:[s,i,b,n]}", "k", "v\"", 7, 1));
	ours = durable__json_text(vals);
	theirs = json_dumps(vals, JSON_COMPACT);
	CHECK(ours && theirs && strcmp(ours, theirs) == 0, "values as jansson writes them: %s / %s", ours, theirs);
	free(ours);
	free(theirs);
	for (size_t i = 0; i < json_array_size(vals); i++) {
		ours = durable__json_text(json_array_get(vals, i));
		theirs = json_dumps(json_array_get(vals, i), JSON_COMPACT | JSON_ENCODE_ANY);
		CHECK(ours && theirs && strcmp(ours, theirs) == 0, "at the top: %s / %s", ours, theirs);
		free(ours);
		free(theirs);
	}
	json_decref(vals);

	/* strings are copied eight bytes at a time up to what needs escaping:
	 * each such byte (and a multi-byte character, DEL) at every place of
	 * the words around it, as a value and as a key, as jansson writes it */
	static const char *const odd[] = {"\"", "\\", "\n", "\x01", "\x1f", "/", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80"};
	int quoted_same = 1;
	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
		for (int at = 0; at < 20; at++) {
			char str[64];
			snprintf(str, sizeof(str), "%.*s%s%.*s", at, "abcdefghijklmnopqrstuvwxyz", odd[k], 19 - at,
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			json_t *both = json_pack("{s:s}", str, str);
			ours = durable__json_text(both);
			theirs = json_dumps(both, JSON_COMPACT);
			if (!ours || !theirs || strcmp(ours, theirs) != 0) {
				CHECK(0, "quoted as jansson quotes: %s / %s", ours, theirs);
				quoted_same = 0;
			}
			free(ours);
			free(theirs);
			json_decref(both);
		}
	CHECK(quoted_same, "every string quoted as jansson quotes it");

	/* scalars at the top, as activity results may be */
	char *s = durable__json_text(json_null());
	CHECK(s && strcmp(s, "null") == 0, "null: %s", s);
	free(s);
	/* durable__json_pair: json_pack's "{s:s, s:o}" without a format; the
	 * value is taken whatever happens (ASan and valgrind see a leak or a
	 * double free) */
	json_t *pair = durable__json_pair("task_token", "t-1", "commands", json_pack("[{s:s}]", "type", "X"));
	char *pt = pair ? durable__json_text(pair) : NULL;
	json_t *packed = json_pack("{s:s, s:o}", "task_token", "t-1", "commands", json_pack("[{s:s}]", "type", "X"));
	CHECK(pt && json_equal(pair, packed) && strcmp(pt, "{\"task_token\":\"t-1\",\"commands\":[{\"type\":\"X\"}]}") == 0,
	      "a pair as json_pack makes it: %s", pt);
	free(pt);
	json_decref(pair);
	json_decref(packed);
	CHECK(durable__json_pair("task_token", "\xff", "result", json_string("taken")) == NULL,
	      "a string that is not UTF-8: NULL, the value released");
	CHECK(durable__json_pair("task_token", NULL, "result", json_integer(1)) == NULL, "no string: NULL");
	CHECK(durable__json_pair("k", "v", "result", NULL) == NULL, "no value: NULL");
	return CHECK_DONE();
}
