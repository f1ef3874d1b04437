/*
 * durable__json_read, the worker's own reader of JSON text, against
 * jansson's: for what it reads, the same values (the same text once printed,
 * keys in the same order, integers and reals as jansson has them); what
 * jansson refuses, it leaves to jansson (NULL), so durable__json_load gives
 * jansson's error. A store's history, the forms people write, edge cases,
 * and a few thousand mutations of them.
 */
#include "check.h"
#include "json_text.h"

#include <stdlib.h>
#include <string.h>

/* jansson's answer as durable__json_load gave it before the fast path */
static json_t *jansson(const char *text, size_t len, size_t flags)
{
	return durable__json_load_jansson(text, len, flags, NULL);
}

static int n_same, n_refused;

/* a number of 64 characters or more, which the reader leaves to jansson */
static int long_number(const char *text, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		run = strchr("0123456789.eE+-", text[i]) && text[i] ? run + 1 : 0;
		if (run >= 64)
			return 1;
	}
	return 0;
}

/* text read by both: the same, or refused by both (jansson then gives
 * durable__json_load's error) */
static void both(const char *text, size_t len, size_t flags)
{
	json_t *ours = durable__json_read(text, len, flags), *theirs = jansson(text, len, flags);
	if (!theirs) {
		CHECK(ours == NULL, "what jansson refuses is left to it: %.*s", (int)(len > 80 ? 80 : len), text);
		n_refused++;
	} else if (!ours) {
		/* left to jansson, which reads it: allowed only for what this
		 * reader leaves by design (a number of 64 characters or more) */
		CHECK(long_number(text, len), "jansson reads it, and so must we: %.*s", (int)(len > 80 ? 80 : len), text);
	} else {
		char *a = durable__json_text(ours), *b = durable__json_text(theirs);
		CHECK(a && b && strcmp(a, b) == 0 && json_equal(ours, theirs), "the same values: %s and %s", a, b);
		free(a);
		free(b);
		n_same++;
	}
	json_decref(ours);
	json_decref(theirs);
}

static void text(const char *t, size_t flags)
{
	both(t, strlen(t), flags);
}

static const char *history =
	"[{\"event_id\": 1, \"attributes\": {\"memo\": {}, \"input\": 1, \"attempt\": 1, \"identity\": null, "
	"\"task_queue\": \"prof-10541\", \"parent_run_id\": null, \"workflow_type\": \"BenchPar10\", "
	"\"search_attributes\": {}, \"workflow_task_timeout\": 10, \"first_execution_run_id\": "
	"\"01a22e0f-2ddf-74c7-b981-ffe81bce68cd\"}, \"event_time\": \"2026-11-30T20:04:36.447373+00:00\", "
	"\"event_type\": \"WorkflowExecutionStarted\"}, {\"event_id\": 5, \"attributes\": {\"input\": "
	"{\"x\": [1.5, -2, 3e2, \"caf\\u00e9 \\ud83d\\ude00\", true, false, null]}, \"retry_policy\": "
	"{\"initial_interval\": 1, \"backoff_coefficient\": 2.0, \"non_retryable_error_types\": []}, "
	"\"activity_type\": \"noop\"}, \"event_time\": \"2026-11-30T20:04:36.541759+00:00\", "
	"\"event_type\": \"ActivityTaskScheduled\"}]";

int main(void)
{
	const size_t any = JSON_DECODE_ANY;
	text(history, 0);
	/* values of every kind, top-level scalars only with JSON_DECODE_ANY */
	text("{}", 0);
	text("[]", 0);
	text(" \t\n\r[ ] \n", 0);
	text("{\"a\":{\"b\":[[],{},[{}]]}}", 0);
	text("1", 0);
	text("1", any);
	text("\"s\"", any);
	text("null", any);
	text("true", any);
	text("false", any);
	text("-0", any);
	text("-0.0", any);
	text("[0, -1, 9223372036854775807, -9223372036854775808, 9223372036854775808, -9223372036854775809]", 0);
	text("[123456789012345678901234567890, 1e-400, 2.5E+3, 7e-1, 0.1]", 0);
	text("[1234567890123456789012345678901234567890123456789012345678901234567890]", 0);
	text("[1e400]", 0);
	text("[01]", 0);
	text("[1.]", 0);
	text("[.5]", 0);
	text("[-]", 0);
	text("[1e]", 0);
	text("[+1]", 0);
	/* strings: escapes, Unicode, what jansson refuses */
	text("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0);
	text("[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00 plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]", 0);
	text("{\"k\\u00e9y\\n\": 1, \"k\\u00e9y\\n\": 2, \"plain\": {\"\\t\": \"\\\\\"}}", 0);
	text("[\"\\u0000\"]", 0);
	text("[\"\\ud83d\"]", 0);
	text("[\"\\ude00\"]", 0);
	text("[\"\\ud83d\\u0041\"]", 0);
	text("[\"\\x\"]", 0);
	text("[\"\\u12\"]", 0);
	text("[\"tab\there\"]", 0);
	text("[\"\xc0\xaf\"]", 0);   /* overlong */
	text("[\"\xed\xa0\x80\"]", 0);   /* a surrogate in UTF-8 */
	text("[\"\xf4\x90\x80\x80\"]", 0);   /* past U+10FFFF */
	text("[\"\xe2\x82\"]", 0);   /* cut short */
	text("[\"unterminated]", 0);
	/* the reader skips strings and ASCII eight bytes at a time: each byte
	 * that stops it (a quote, a backslash, a control character, a byte of
	 * a multi-byte character, an invalid one) at every place of the words
	 * around it, in a string and in a key */
	static const char *const stops[] = {"\\\"", "\\n", "\t", "\x01", "\x1f", "\xc3\xa9", "\xf0\x9f\x98\x80",
					    "\xff", "\x7f", " ", "\\u00e9", "\""};
	for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++)
		for (int at = 0; at < 20; at++) {
			char t[128];
			snprintf(t, sizeof(t), "[\"%.*s%s%.*s\"]", at, "abcdefghijklmnopqrstuvwxyz", stops[k], 19 - at,
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			text(t, 0);
			snprintf(t, sizeof(t), "{\"%.*s%s%.*s\": 1}", at, "abcdefghijklmnopqrstuvwxyz", stops[k], 19 - at,
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			text(t, 0);
		}
	/* integers read digit by digit up to 18 digits, by strtoll past them */
	text("[99999999999999999, 999999999999999999, 9999999999999999999, -999999999999999999, "
	     "-9999999999999999999, 100000000000000000, -100000000000000000, 123456789012345678, -0, 0]", 0);
	/* structure */
	text("[1,]", 0);
	text("[1 2]", 0);
	text("{\"a\" 1}", 0);
	text("{\"a\":}", 0);
	text("{a:1}", 0);
	text("{\"a\":1,}", 0);
	text("[1] x", 0);
	text("[nul]", 0);
	text("[truex]", 0);
	text("", 0);
	text("   ", any);
	both("[1]\0[2]", 7, 0);
	both("[\"a\0b\"]", 7, 0);
	/* nesting at and past jansson's depth */
	static char deep[2 * (JSON_PARSER_MAX_DEPTH + 2) + 1];
	for (int d = JSON_PARSER_MAX_DEPTH; d <= JSON_PARSER_MAX_DEPTH + 1; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		both(deep, 2 * (size_t)d, 0);
	}
	/* jansson's depth counts every value: a number, a string, an empty
	 * object inside 2,048 containers is one too deep (read once by this
	 * reader alone); objects and arrays mixed */
	static char deeper[8 * (JSON_PARSER_MAX_DEPTH + 2)];
	const char *inner[] = {"1", "\"s\"", "{}", "[]", "null", ""};
	for (int d = JSON_PARSER_MAX_DEPTH - 1; d <= JSON_PARSER_MAX_DEPTH + 1; d++)
		for (size_t k = 0; k < sizeof(inner) / sizeof(inner[0]); k++)
			for (int objects = 0; objects < 2; objects++) {
				size_t n = 0;
				for (int i = 0; i < d; i++)
					n += (size_t)sprintf(deeper + n, objects && i % 2 ? "{\"k\":" : "[");
				n += (size_t)sprintf(deeper + n, "%s", objects && d % 2 == 0 && !*inner[k] ? "1" : inner[k]);
				for (int i = d - 1; i >= 0; i--)
					deeper[n++] = objects && i % 2 ? '}' : ']';
				both(deeper, n, 0);
			}

	/* an integer past 64 bits beside a fraction or an exponent of many
	 * digits (numeric division writes 20): jansson's answer, asked again
	 * with ".0" after the big integer, took the fraction's digits for an
	 * integer of their own and refused the text */
	const char *big[] = {
		"[99999999999999999999, 0.33333333333333333333]",
		"[0.33333333333333333333, -99999999999999999999]",
		"[12345678901234567890123, 1e-99999999999999999999]",
		"[12345678901234567890123, 1.5e-0000000000000000000001]",
		"{\"a\": 602214076000000000000000, \"b\": 2.00000000000000000000000000001E+1}",
	};
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		text(big[i], 0);
		json_t *v = jansson(big[i], strlen(big[i]), 0);
		CHECK(v != NULL, "jansson's answer reads it too: %s", big[i]);
		json_decref(v);
	}
	/* and the same where this reader leaves the text to jansson (a number of 64 characters) */
	const char *left = "[99999999999999999999, 0.33333333333333333333, "
			   "1.000000000000000000000000000000000000000000000000000000000000000001]";
	json_t *v = durable__json_load(left, strlen(left), 0, NULL);
	char *printed = v ? durable__json_text(v) : NULL;
	CHECK(printed && strcmp(printed, "[1e20,0.3333333333333333,1.0]") == 0, "read as reals: %s",
	      printed ? printed : "refused");
	free(printed);
	json_decref(v);

	/* integer or real as the text writes it, whatever its value */
	const char *kinds[][2] = {{"1", "i"}, {"1.0", "r"}, {"1e0", "r"}, {"1E+2", "r"}, {"-0", "i"}, {"-0.0", "r"},
				  {"-0e-0", "r"}, {"1e007", "r"}, {"0.0e+0", "r"}, {"9223372036854775808", "r"},
				  {"-9223372036854775808", "i"}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *n = durable__json_read(kinds[i][0], strlen(kinds[i][0]), any);
		CHECK(n && (kinds[i][1][0] == 'i' ? json_is_integer(n) : json_is_real(n)), "%s: %s", kinds[i][0],
		      kinds[i][1][0] == 'i' ? "an integer" : "a real");
		json_decref(n);
		text(kinds[i][0], any);
	}

	/* whitespace JSON does not have */
	text("[\f1]", 0);
	text("[\v1]", 0);
	text("\xef\xbb\xbf[1]", 0);   /* a byte order mark */
	text("[\xc2\xa0" "1]", 0);   /* a no-break space */
	text("[1/**/]", 0);
	/* escapes cut short at the text's end, a high surrogate's low one cut short */
	text("[\"\\u12", 0);
	text("[\"\\ud83d\\ude0", 0);
	text("[\"\\ud83d\\u\"]", 0);
	text("[\"\\ud83d\\\"]", 0);
	text("[\"\\", 0);

	/* a NUL byte after a literal or number: jansson's stream skips a NUL
	 * it was given back, so it reads [true]; this reader refuses, and
	 * durable__json_load then answers as jansson did before it (no
	 * caller's text has one: they are C strings) */
	both("[true]", 6, 0);
	json_t *nul_ours = durable__json_read("[true\0]", 7, 0), *nul_load = durable__json_load("[true\0]", 7, 0, NULL),
	       *nul_theirs = jansson("[true\0]", 7, 0);
	CHECK(!nul_ours && json_equal(nul_load, nul_theirs), "a NUL byte is left to jansson, whose answer stands");
	json_decref(nul_load);
	json_decref(nul_theirs);

	/* long strings: plain, with escapes, as a key (decoded, then copied
	 * off the reader's buffer) */
	size_t long_n = 1 << 18;
	char *long_text = malloc(long_n + 64);
	for (int escaped = 0; escaped < 2; escaped++)
		for (int as_key = 0; as_key < 2; as_key++) {
			size_t n = (size_t)sprintf(long_text, as_key ? "{\"" : "[\"");
			for (size_t i = 0; n < long_n; i++)
				n += escaped && i % 1000 == 999 ? (size_t)sprintf(long_text + n, "\\u00e9\\n")
								: (size_t)sprintf(long_text + n, "%c", 'a' + (int)(i % 26));
			n += (size_t)sprintf(long_text + n, as_key ? "\": \"\\t\"}" : "\"]");
			both(long_text, n, 0);
		}
	free(long_text);

	/* the history cut short at every byte, and with every fifth byte
	 * dropped (the mutations below drop others) */
	size_t hlen = strlen(history);
	char *cut = malloc(hlen);
	for (size_t i = 0; i < hlen; i++) {
		both(history, i, 0);
		if (i % 5)
			continue;
		memcpy(cut, history, i);
		memcpy(cut + i, history + i + 1, hlen - i - 1);
		both(cut, hlen - 1, 0);
	}
	free(cut);

	/* a key decoded into the reader's buffer, then a value that needs it too */
	text("{\"\\u00e9\": \"\\u00e8\", \"long key with an escape \\n to be longer than sixty-four bytes, yes\": "
	     "[\"\\t\", {\"\\\"\": \"\\\\\"}]}", 0);

	/* a key looked out for: found as a key at any depth, spelled with
	 * escapes too, never as a value */
	const char *watched[][2] = {
		{"{\"_durable_codec\":1}", "1"},
		{"[{\"a\":[{\"b\":{\"_durable_codec\":\"x\",\"key\":\"k1\"}}]}]", "1"},
		{"[{\"\\u005fdurable_codec\":1}]", "1"},
		{"[{\"_durable_codec2\":1,\"durable_codec\":2}]", "0"},
		{"[{\"a\":\"_durable_codec\"}, \"_durable_codec\"]", "0"},
		{"[]", "0"},
	};
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		int seen = -1;
		json_t *v = durable__json_read_watch(watched[i][0], strlen(watched[i][0]), 0, "_durable_codec", &seen);
		CHECK(v && seen == (watched[i][1][0] == '1'), "%s: the key %s", watched[i][0],
		      watched[i][1][0] == '1' ? "seen" : "not seen");
		json_decref(v);
	}

	/* mutations of the history and of the forms above: a byte changed,
	 * dropped or repeated; each read by both */
	const char *seeds[] = {history, "{\"a\":[1,2.5,-3e-2,\"x\\ny\",{\"b\":null}],\"c\":true}",
			       "[\"\\ud83d\\ude00\", 12345678901234567890, -0.0]"};
	const char alphabet[] = "{}[]\",:\\-+.0123456789eEtrufalsn \x80\xc3\xa9u";
	srand(15);
	for (int s = 0; s < 3; s++) {
		size_t len = strlen(seeds[s]);
		char *m = malloc(len + 2);
		for (int i = 0; i < 3000; i++) {
			memcpy(m, seeds[s], len + 1);
			size_t at = (size_t)rand() % len, n = len;
			int how = rand() % 3;
			if (how == 0) {
				m[at] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
			} else if (how == 1) {
				memmove(m + at, m + at + 1, len - at);
				n--;
			} else {
				memmove(m + at + 1, m + at, len - at + 1);
				n++;
			}
			both(m, n, rand() % 2 ? any : 0);
		}
		free(m);
	}
	CHECK(n_same > 1000 && n_refused > 1000, "both kinds seen: %d read the same, %d refused", n_same, n_refused);
	return CHECK_DONE();
}
