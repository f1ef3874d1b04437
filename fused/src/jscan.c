/* The incremental JSON syntax scanner (jscan.h): a state machine, one byte at a time. */
#define _POSIX_C_SOURCE 200809L
#include "jscan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
	S_VALUE, S_ARR_FIRST, S_OBJ_FIRST, S_KEY, S_COLON, S_AFTER, S_END, S_BAD,
	S_STR, S_ESC, S_UHEX, S_LIT,
	N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP,
};

void jscan_init(struct jscan *s)
{
	memset(s, 0, sizeof *s);
	s->state = S_VALUE;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool number_may_end(int st)
{
	return st == N_ZERO || st == N_INT || st == N_FRAC || st == N_EXP;
}

static void bad(struct jscan *s, unsigned char c, const char *why)
{
	char shown[8];
	if (c > 0x20 && c < 0x7f)
		snprintf(shown, sizeof shown, "'%c'", c);
	else
		snprintf(shown, sizeof shown, "0x%02x", c);
	snprintf(s->err, sizeof s->err, "not JSON: %s at byte %zu (%s)", why, s->pos + 1, shown);
	s->state = S_BAD;
}

static bool in_object(const struct jscan *s)
{
	int d = s->depth - 1;
	return s->in_object[d / 8] & (1u << (d % 8));
}

static void push(struct jscan *s, bool object)
{
	if (s->depth == JSON_MAX_DEPTH) {
		snprintf(s->err, sizeof s->err,
			 "JSON nested deeper than %d levels (at byte %zu); the store's limit too",
			 JSON_MAX_DEPTH, s->pos + 1);
		s->state = S_BAD;
		return;
	}
	int d = s->depth++;
	if (object)
		s->in_object[d / 8] |= (uint8_t)(1u << (d % 8));
	else
		s->in_object[d / 8] &= (uint8_t)~(1u << (d % 8));
	s->state = object ? S_OBJ_FIRST : S_ARR_FIRST;
}

static void end_value(struct jscan *s)
{
	s->state = s->depth == 0 ? S_END : S_AFTER;
}

static void close_container(struct jscan *s, unsigned char c, bool object)
{
	if (s->depth == 0 || in_object(s) != object) {
		bad(s, c, "a bracket that closes nothing open");
		return;
	}
	s->depth--;
	end_value(s);
}

static void value_start(struct jscan *s, unsigned char c)
{
	switch (c) {
	case '{': push(s, true); break;
	case '[': push(s, false); break;
	case '"': s->key = false; s->state = S_STR; break;
	case '-': s->state = N_MINUS; break;
	case '0': s->state = N_ZERO; break;
	case 't': s->lit = "true"; s->lit_pos = 1; s->state = S_LIT; break;
	case 'f': s->lit = "false"; s->lit_pos = 1; s->state = S_LIT; break;
	case 'n': s->lit = "null"; s->lit_pos = 1; s->state = S_LIT; break;
	default:
		if (c >= '1' && c <= '9')
			s->state = N_INT;
		else
			bad(s, c, "a value was expected");
	}
}

/* A number ends at the first byte that cannot continue it; that byte is then read again. */
static bool number(struct jscan *s, unsigned char c)
{
	int st = s->state;
	if (is_digit(c)) {
		if (st == N_ZERO) {
			bad(s, c, "a number with a leading zero");
			return true;
		}
		s->state = st == N_MINUS ? (c == '0' ? N_ZERO : N_INT)
			 : st == N_DOT ? N_FRAC
			 : st == N_E || st == N_ESIGN ? N_EXP : st;
		return true;
	}
	if (c == '.' && (st == N_ZERO || st == N_INT)) {
		s->state = N_DOT;
		return true;
	}
	if ((c == 'e' || c == 'E') && (st == N_ZERO || st == N_INT || st == N_FRAC)) {
		s->state = N_E;
		return true;
	}
	if ((c == '+' || c == '-') && st == N_E) {
		s->state = N_ESIGN;
		return true;
	}
	if (!number_may_end(st)) {
		bad(s, c, "an unfinished number");
		return true;
	}
	end_value(s);
	return false;
}

static void step(struct jscan *s, unsigned char c)
{
	if (!is_ws(c))
		s->started = true;
	if (s->state >= N_MINUS && number(s, c))
		return;
	switch (s->state) {
	case S_VALUE:
		if (!is_ws(c))
			value_start(s, c);
		break;
	case S_ARR_FIRST:
		if (c == ']')
			close_container(s, c, false);
		else if (!is_ws(c))
			value_start(s, c);
		break;
	case S_OBJ_FIRST:
	case S_KEY:
		if (c == '"') {
			s->key = true;
			s->state = S_STR;
		} else if (c == '}' && s->state == S_OBJ_FIRST) {
			close_container(s, c, true);
		} else if (!is_ws(c)) {
			bad(s, c, "an object key (a string) was expected");
		}
		break;
	case S_COLON:
		if (c == ':')
			s->state = S_VALUE;
		else if (!is_ws(c))
			bad(s, c, "':' was expected after an object key");
		break;
	case S_AFTER:
		if (c == ',')
			s->state = in_object(s) ? S_KEY : S_VALUE;
		else if (c == ']' || c == '}')
			close_container(s, c, c == '}');
		else if (!is_ws(c))
			bad(s, c, in_object(s) ? "',' or '}' was expected" : "',' or ']' was expected");
		break;
	case S_END:
		if (!is_ws(c))
			bad(s, c, "text after the end of the document (one document per open)");
		break;
	case S_STR:
		if (c == '"') {
			if (s->key)
				s->state = S_COLON;
			else
				end_value(s);
		} else if (c == '\\') {
			s->state = S_ESC;
		} else if (c < 0x20) {
			bad(s, c, "a control character in a string (escape it)");
		}
		break;
	case S_ESC:
		if (c == 'u') {
			s->lit_pos = 0;
			s->state = S_UHEX;
		} else if (strchr("\"\\/bfnrt", c) && c) {
			s->state = S_STR;
		} else {
			bad(s, c, "an unknown escape in a string");
		}
		break;
	case S_UHEX:
		if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			bad(s, c, "a \\u escape needs four hex digits");
		else if (++s->lit_pos == 4)
			s->state = S_STR;
		break;
	case S_LIT:
		if (c != (unsigned char)s->lit[s->lit_pos])
			bad(s, c, "an unknown literal (true, false or null)");
		else if (s->lit[++s->lit_pos] == '\0')
			end_value(s);
		break;
	default:
		break;
	}
}

static enum jscan_result result(const struct jscan *s)
{
	return s->state == S_BAD ? JSCAN_BAD : s->state == S_END ? JSCAN_DONE : JSCAN_MORE;
}

enum jscan_result jscan_feed(struct jscan *s, const char *data, size_t len)
{
	for (size_t i = 0; i < len && s->state != S_BAD; i++, s->pos++)
		step(s, (unsigned char)data[i]);
	return result(s);
}

enum jscan_result jscan_end(struct jscan *s)
{
	if (s->state == S_BAD || s->state == S_END)
		return result(s);
	if (s->depth == 0 && number_may_end(s->state)) {
		s->state = S_END;
		return JSCAN_DONE;
	}
	if (!s->started)
		return JSCAN_MORE;
	snprintf(s->err, sizeof s->err, "not JSON: the document ends early, after %zu bytes", s->pos);
	s->state = S_BAD;
	return JSCAN_BAD;
}
