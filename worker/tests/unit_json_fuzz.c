/*
 * durable__json_read against jansson (durable__json_load_jansson, what the
 * worker read JSON with before its own reader) on generated text: JSON
 * values of every kind built from the grammar, with what the grammar allows
 * at its edges (escapes of every form, surrogate pairs, integers past 64
 * bits, fractions and exponents of many digits, -0, duplicate keys, deep
 * nesting, long strings, whitespace of each kind) and, rarely, what it
 * refuses (lone surrogates, \u0000, invalid UTF-8, control characters,
 * leading zeros, bad literals); then each text mutated (a byte changed,
 * dropped, repeated, a span repeated, the text cut short). For every text:
 * the same value (the same printed text, integers and reals as jansson has
 * them, keys in the same order), or refused by both; the watched key seen
 * exactly when some object of jansson's value has it. Then the reader with
 * every one of jansson's allocations failing in turn: NULL or the same
 * value, nothing leaked (ASan, valgrind). Deterministic: fixed seeds.
 */
#include "check.h"
#include "json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1Du) >> 32);
}

/* 0..n-1 */
static size_t pick(size_t n)
{
	return (size_t)next() % n;
}

/* true about once in n */
static int one_in(size_t n)
{
	return pick(n) == 0;
}

typedef struct {
	char *p;
	size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putc_(buf_t *b, char c)
{
	put(b, &c, 1);
}

/* whether the generator writes what JSON refuses, once in a while */
static int invalid_ok;

static int rare_invalid(size_t n)
{
	return invalid_ok && one_in(n);
}

static void ws(buf_t *b)
{
	static const char space[] = " \t\n\r";
	if (rare_invalid(400)) {
		puts_(b, (const char *[]){"\f", "\v", "\xc2\xa0", "\xef\xbb\xbf", "/**/"}[pick(5)]);
		return;
	}
	for (size_t n = one_in(3) ? pick(4) : 0; n > 0; n--)
		putc_(b, space[pick(4)]);
}

static void hex4(buf_t *b, uint32_t v)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	const char *digits = one_in(2) ? lower : upper;
	char s[6] = {'\\', 'u', digits[v >> 12 & 15], digits[v >> 8 & 15], digits[v >> 4 & 15], digits[v & 15]};
	put(b, s, 6);
}

static void utf8(buf_t *b, uint32_t cp)
{
	char s[4];
	size_t n;
	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xC0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xE0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | cp >> 18);
		s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		s[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	put(b, s, n);
}

/* a code point of the BMP, not a surrogate, not 0 */
static uint32_t bmp(void)
{
	for (;;) {
		uint32_t cp = one_in(3) ? 1 + (uint32_t)pick(0x7F) : (uint32_t)pick(0x10000);
		if (cp != 0 && (cp < 0xD800 || cp > 0xDFFF))
			return cp;
	}
}

static void string_body(buf_t *b)
{
	static const char *const escapes[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
	static const char *const bad_utf8[] = {"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
					       "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xbf",
					       "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xfe", "\xff"};
	for (size_t pieces = pick(7); pieces > 0; pieces--) {
		switch (pick(12)) {
		case 0:
		case 1:
		case 2:
			for (size_t n = 1 + pick(12); n > 0; n--) {
				char c = (char)(0x20 + pick(0x5F));
				if (c == '"' || c == '\\')
					c = 'q';
				putc_(b, c);
			}
			break;
		case 3:
			puts_(b, escapes[pick(8)]);
			break;
		case 4:
			hex4(b, bmp());
			break;
		case 5: {   /* a surrogate pair */
			uint32_t cp = 0x10000 + (uint32_t)pick(0x100000);
			hex4(b, 0xD800 + ((cp - 0x10000) >> 10));
			hex4(b, 0xDC00 + ((cp - 0x10000) & 0x3FF));
			break;
		}
		case 6:
			utf8(b, bmp());
			break;
		case 7:
			utf8(b, 0x10000 + (uint32_t)pick(0x100000));
			break;
		case 8:   /* long, plain or escaped */
			if (one_in(8)) {
				size_t n = 100 + pick(5000), esc = one_in(2);
				for (size_t i = 0; i < n; i++)
					if (esc && i % 97 == 0)
						puts_(b, "\\u00e9");
					else
						putc_(b, (char)('a' + i % 26));
			}
			break;
		case 9:
			putc_(b, 0x7F);
			break;
		default:
			if (!invalid_ok || !one_in(3))
				break;
			switch (pick(9)) {
			case 0:
				hex4(b, 0xD800 + (uint32_t)pick(0x400));   /* a lone high surrogate */
				break;
			case 1:
				hex4(b, 0xDC00 + (uint32_t)pick(0x400));   /* a lone low one */
				break;
			case 2:
				hex4(b, 0xD800 + (uint32_t)pick(0x400));   /* high, then not low */
				hex4(b, one_in(2) ? 0xD800 + (uint32_t)pick(0x400) : bmp());
				break;
			case 3:
				puts_(b, "\\u0000");
				break;
			case 4:
				puts_(b, bad_utf8[pick(sizeof(bad_utf8) / sizeof(bad_utf8[0]))]);
				break;
			case 5:
				putc_(b, (char)pick(0x20));   /* a control character, NUL among them */
				break;
			case 6:
				puts_(b, (const char *[]){"\\x", "\\u12", "\\u12g4", "\\U0041", "\\'", "\\0", "\\"}[pick(7)]);
				break;
			case 7:
				hex4(b, 0xD800 + (uint32_t)pick(0x400));   /* high, then an escape of another kind */
				puts_(b, escapes[pick(8)]);
				break;
			default:
				hex4(b, 0xD800 + (uint32_t)pick(0x400));   /* high, then a raw low surrogate's UTF-8 */
				puts_(b, "\xed\xb0\x80");
				break;
			}
		}
	}
}

static void string(buf_t *b)
{
	putc_(b, '"');
	string_body(b);
	putc_(b, '"');
}

static void digits(buf_t *b, size_t n, int first_nonzero)
{
	for (size_t i = 0; i < n; i++)
		putc_(b, (char)((i == 0 && first_nonzero ? '1' + pick(9) : '0' + pick(10))));
}

static void number(buf_t *b)
{
	static const char *const edges[] = {
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "-0", "-0.0", "0e0", "-0e-0", "1E+0", "1e-0",
		"4.9e-324", "2.4e-324", "2.5e-324", "1e-400", "-1e-400", "1.7976931348623157e308", "1.7976931348623159e308",
		"1e309", "-1e309", "1e00000000000000000000000001", "1e-99999999999999999999", "1e99999999999999999999",
		"0.1", "1.0", "100", "1e2", "123456789012345678901234567890", "0.333333333333333333333333",
		"0.00000000000000000000000000000000000000000000000000000000000000001", "9007199254740993",
		"3.141592653589793238462643383279", "1.00000000000000011102230246251565404236316680908203125",
	};
	static const char *const bad[] = {"01", "-01", "1.", "-.5", ".5", "+1", "1e", "1e+", "-", "--1", "1.2.3",
					  "0x10", "1_000", "NaN", "Infinity", "-Infinity", "1e1.5", "00"};
	if (rare_invalid(60)) {
		puts_(b, bad[pick(sizeof(bad) / sizeof(bad[0]))]);
		return;
	}
	if (one_in(6)) {
		puts_(b, edges[pick(sizeof(edges) / sizeof(edges[0]))]);
		return;
	}
	if (one_in(3))
		putc_(b, '-');
	if (one_in(4))
		putc_(b, '0');
	else
		digits(b, 1 + (one_in(4) ? pick(40) : pick(6)), 1);
	if (one_in(3)) {
		putc_(b, '.');
		digits(b, 1 + (one_in(4) ? pick(40) : pick(6)), 0);
	}
	if (one_in(4)) {
		putc_(b, one_in(2) ? 'e' : 'E');
		if (!one_in(3))
			putc_(b, one_in(2) ? '+' : '-');
		digits(b, 1 + (one_in(8) ? pick(25) : pick(3)), 0);
	}
}

static const char *const keys[] = {"a", "b", "event_id", "attributes", "", "_durable_codec", "\\u005fdurable_codec",
				   "_durable_code", "_durable_codec_", "k\\u00e9y", "\\ud83d\\ude00", "\\n"};

static void value(buf_t *b, int depth);

static void object(buf_t *b, int depth)
{
	putc_(b, '{');
	ws(b);
	for (size_t n = pick(6), i = 0; i < n; i++) {
		if (i) {
			putc_(b, ',');
			ws(b);
		}
		if (one_in(2)) {
			putc_(b, '"');
			puts_(b, keys[pick(sizeof(keys) / sizeof(keys[0]))]);   /* so keys repeat */
			putc_(b, '"');
		} else {
			string(b);
		}
		ws(b);
		putc_(b, ':');
		ws(b);
		value(b, depth + 1);
		ws(b);
	}
	putc_(b, '}');
}

static void array(buf_t *b, int depth)
{
	putc_(b, '[');
	ws(b);
	for (size_t n = pick(6), i = 0; i < n; i++) {
		if (i) {
			putc_(b, ',');
			ws(b);
		}
		value(b, depth + 1);
		ws(b);
	}
	putc_(b, ']');
}

static void value(buf_t *b, int depth)
{
	size_t kind = pick(depth > 6 ? 7 : 10);
	if (rare_invalid(200)) {
		puts_(b, (const char *[]){"tru", "nul", "True", "NULL", "fals", "nan", "'s'", "undefined"}[pick(8)]);
		return;
	}
	switch (kind) {
	case 0:
	case 1:
		string(b);
		break;
	case 2:
	case 3:
		number(b);
		break;
	case 4:
		puts_(b, "true");
		break;
	case 5:
		puts_(b, "false");
		break;
	case 6:
		puts_(b, "null");
		break;
	case 7:
	case 8:
		object(b, depth);
		break;
	default:
		array(b, depth);
		break;
	}
}

/* a number of 64 characters or more, which the reader leaves to jansson by design */
static int long_number(const char *text, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		run = text[i] && strchr("0123456789.eE+-", text[i]) ? run + 1 : 0;
		if (run >= 64)
			return 1;
	}
	return 0;
}

/* whether some object of v has the key */
static int has_key(const json_t *v, const char *key)
{
	size_t i;
	const char *k;
	json_t *item;
	if (json_is_object(v)) {
		if (json_object_get(v, key))
			return 1;
		json_object_foreach((json_t *)v, k, item)
			if (has_key(item, key))
				return 1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (has_key(item, key))
				return 1;
	}
	return 0;
}

static int n_same, n_refused, n_failed_shown;

#define SHOW(t, n) (int)((n) > 120 ? 120 : (n)), (t)

static void both(const char *text, size_t len, size_t flags)
{
	int seen = -1;
	json_t *ours = durable__json_read_watch(text, len, flags, "_durable_codec", &seen);
	json_t *theirs = durable__json_load_jansson(text, len, flags, NULL);
	int failed_before = check_failed;
	if (!theirs) {
		CHECK(ours == NULL, "what jansson refuses is refused: %.*s", SHOW(text, len));
		n_refused++;
	} else if (!ours) {
		/* left to jansson, which reads it: by design a number of 64
		 * characters or more; and a NUL byte, which this reader refuses
		 * and jansson skips after a number or a literal it gave back
		 * (its stream takes a NUL given back for an empty buffer):
		 * "[true\0]" is [true] to it */
		CHECK(long_number(text, len) || memchr(text, 0, len), "what jansson reads is read: %.*s",
		      SHOW(text, len));
	} else {
		char *a = durable__json_text(ours), *b = durable__json_text(theirs);
		CHECK(a && b && strcmp(a, b) == 0 && json_equal(ours, theirs), "the same value: %.200s and %.200s",
		      a ? a : "?", b ? b : "?");
		/* (seen and not there is allowed: a key of a value a duplicate
		 * key replaced; the caller then walks a tree it need not) */
		CHECK(seen || !has_key(theirs, "_durable_codec"), "the watched key not seen: %.*s", SHOW(text, len));
		free(a);
		free(b);
		n_same++;
	}
	json_decref(ours);
	json_decref(theirs);
	if (check_failed > failed_before && ++n_failed_shown > 20) {
		fprintf(stderr, "too many failures\n");
		exit(1);
	}
}

/* the text with one to three changes */
static size_t mutate(const char *text, size_t len, buf_t *out)
{
	static const char alphabet[] = "{}[]\",:\\-+.0123456789eEtrufalsn \t\x80\xc3\xa9\xed\xf0u\0";
	out->len = 0;
	put(out, text, len);
	for (size_t edits = 1 + pick(3); edits > 0 && out->len > 0; edits--) {
		size_t at = pick(out->len);
		switch (pick(5)) {
		case 0:
			out->p[at] = alphabet[pick(sizeof(alphabet) - 1)];
			break;
		case 1:
			memmove(out->p + at, out->p + at + 1, out->len - at);
			out->len--;
			break;
		case 2: {
			char c = alphabet[pick(sizeof(alphabet) - 1)];
			putc_(out, 0);
			memmove(out->p + at + 1, out->p + at, out->len - at - 1);
			out->p[at] = c;
			break;
		}
		case 3: {   /* a span repeated */
			size_t n = 1 + pick(out->len - at < 16 ? out->len - at : 16);
			char span[16];
			memcpy(span, out->p + at, n);
			put(out, span, n);
			memmove(out->p + at + n, out->p + at, out->len - at - n);
			memcpy(out->p + at, span, n);
			break;
		}
		default:
			out->len = at;   /* cut short */
			break;
		}
	}
	return out->len;
}

static long countdown = -1;   /* < 0: never fail */

static void *failing_malloc(size_t n)
{
	if (countdown >= 0 && countdown-- == 0)
		return NULL;
	return malloc(n);
}

/* The reader with jansson's n-th allocation failing, for every n until it
 * needs no more: NULL or the same value, nothing leaked. */
static void out_of_memory(const char *text, size_t len)
{
	json_t *expected = durable__json_read(text, len, 0);
	char *want = durable__json_text(expected);
	long n;
	CHECK(expected && want, "the text is read: %.*s", SHOW(text, len));
	json_set_alloc_funcs(failing_malloc, free);
	for (n = 0; n < 100000; n++) {
		countdown = n;
		json_t *v = durable__json_read(text, len, 0);
		int hit = countdown < 0;
		countdown = -1;
		json_set_alloc_funcs(malloc, free);
		char *got = v ? durable__json_text(v) : NULL;
		CHECK(!v || (got && strcmp(got, want) == 0), "allocation %ld failing: NULL or the same value", n);
		free(got);
		json_decref(v);
		json_set_alloc_funcs(failing_malloc, free);
		if (!hit)
			break;
	}
	json_set_alloc_funcs(malloc, free);
	CHECK(n > 5, "many allocation points (%ld)", n);
	free(want);
	json_decref(expected);
}

int main(int argc, char **argv)
{
	/* the number of texts; more from the command line, to look further */
	long texts = argc > 1 ? atol(argv[1]) : 4000;
	buf_t doc = {0}, mutated = {0};
	for (long i = 0; i < texts; i++) {
		invalid_ok = i % 4 == 3;
		doc.len = 0;
		size_t flags = one_in(3) ? JSON_DECODE_ANY : 0;
		ws(&doc);
		if (flags)
			value(&doc, 0);
		else if (one_in(2))
			object(&doc, 0);
		else
			array(&doc, 0);
		ws(&doc);
		both(doc.p, doc.len, flags);
		for (int m = 0; m < 3; m++) {
			size_t n = mutate(doc.p, doc.len, &mutated);
			both(mutated.p, n, flags);
		}
	}
	printf("%d read the same, %d refused by both\n", n_same, n_refused);
	CHECK(n_same > texts && n_refused > texts / 2, "both kinds seen: %d read the same, %d refused", n_same,
	      n_refused);

	/* out of memory, on texts with something of everything */
	invalid_ok = 0;
	for (int i = 0, done = 0; done < 4 && i < 1000; i++) {
		doc.len = 0;
		object(&doc, 0);
		json_t *v = durable__json_read(doc.p, doc.len, 0);
		if (v && json_object_size(v) >= 3 && doc.len > 200 && doc.len < 3000) {
			out_of_memory(doc.p, doc.len);
			done++;
		}
		json_decref(v);
	}
	free(doc.p);
	free(mutated.p);
	return CHECK_DONE();
}
