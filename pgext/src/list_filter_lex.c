/*
 * list_filter_lex.c: splits a list filter into tokens, and raises the
 * filter's errors with the position of the fault.
 *
 * Strings are 'single' or "double" quoted; a quote inside is doubled ('it''s')
 * or escaped with a backslash (\' \" \\). Names are letters, digits and "_",
 * or anything but a backtick between backticks (`Order`). Keywords are names
 * the compiler recognises, in any case.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/elog.h"

#include "list_filter.h"

static bool
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

void
FilterError(const char *filter, int pos, int sqlstate, const char *hint, const char *fmt,...)
{
	StringInfoData message;
	int			len = strlen(filter);
	int			charpos;
	int			near_len;

	initStringInfo(&message);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&message, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&message, needed);
	}
	if (pos < 0)
		pos = 0;
	if (pos > len)
		pos = len;
	charpos = pg_mbstrlen_with_len(filter, pos) + 1;
	near_len = pg_mbcliplen(filter + pos, len - pos, 40);

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("list filter: %s", message.data),
			 pos >= len ? errdetail("At character %d of the filter, its end.", charpos)
			 : errdetail("At character %d of the filter, near \"%.*s%s\".", charpos,
						 near_len, filter + pos, pos + near_len < len ? "..." : ""),
			 hint ? errhint("%s", hint) : 0,
			 internalerrposition(charpos),
			 internalerrquery(filter)));
	pg_unreachable();
}

static void
add_token(FilterTokens *out, int *allocated, FilterTokenKind kind, int pos, char *text)
{
	if (out->count == *allocated)
	{
		*allocated *= 2;
		out->tokens = repalloc(out->tokens, sizeof(FilterToken) * *allocated);
	}
	out->tokens[out->count].kind = kind;
	out->tokens[out->count].pos = pos;
	out->tokens[out->count].text = text;
	out->count++;
}

/* A quoted string from p (at its opening quote); returns the byte after it. */
static int
scan_string(const char *filter, int p, StringInfo value)
{
	char		quote = filter[p];
	int			start = p++;

	for (;;)
	{
		char		c = filter[p];

		if (c == '\0')
			FilterError(filter, start, ERRCODE_SYNTAX_ERROR,
						"Close the string with the quote it opened with; double it ('it''s') to put one inside.",
						"unterminated string");
		if (c == '\\' && filter[p + 1] != '\0')
		{
			appendStringInfoChar(value, filter[p + 1]);
			p += 2;
			continue;
		}
		if (c == quote)
		{
			if (filter[p + 1] == quote)
			{
				appendStringInfoChar(value, quote);
				p += 2;
				continue;
			}
			return p + 1;
		}
		appendStringInfoChar(value, c);
		p++;
	}
}

/* A number from p: [-+]digits[.digits][e[-+]digits]; returns the byte after it. */
static int
scan_number(const char *filter, int p)
{
	int			start = p;

	if (filter[p] == '-' || filter[p] == '+')
		p++;
	while (is_digit(filter[p]))
		p++;
	if (filter[p] == '.' && is_digit(filter[p + 1]))
	{
		p++;
		while (is_digit(filter[p]))
			p++;
	}
	if ((filter[p] == 'e' || filter[p] == 'E') &&
		(is_digit(filter[p + 1]) || ((filter[p + 1] == '-' || filter[p + 1] == '+') && is_digit(filter[p + 2]))))
	{
		p += 2;
		while (is_digit(filter[p]))
			p++;
	}
	if (is_name_start(filter[p]) || filter[p] == '.')
		FilterError(filter, start, ERRCODE_SYNTAX_ERROR,
					"Write a number as 42, -7, 3.14 or 1e6; quote text.",
					"malformed number");
	return p;
}

void
FilterTokenize(const char *filter, FilterTokens *out)
{
	int			allocated = 32;
	int			p = 0;

	out->filter = filter;
	out->count = 0;
	out->tokens = palloc(sizeof(FilterToken) * allocated);

	for (;;)
	{
		char		c = filter[p];
		int			start = p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		{
			p++;
			continue;
		}
		if (c == '\0')
		{
			add_token(out, &allocated, FT_EOF, p, "");
			return;
		}
		if (is_name_start(c))
		{
			while (is_name_start(filter[p]) || is_digit(filter[p]))
				p++;
			add_token(out, &allocated, FT_WORD, start, pnstrdup(filter + start, p - start));
		}
		else if (c == '`')
		{
			const char *end = strchr(filter + p + 1, '`');

			if (end == NULL)
				FilterError(filter, start, ERRCODE_SYNTAX_ERROR, "Close the name with a backtick.",
							"unterminated quoted name");
			if (end == filter + p + 1)
				FilterError(filter, start, ERRCODE_SYNTAX_ERROR, NULL, "empty quoted name");
			p = end - filter + 1;
			add_token(out, &allocated, FT_QUOTED_NAME, start, pnstrdup(filter + start + 1, p - start - 2));
		}
		else if (c == '\'' || c == '"')
		{
			StringInfoData value;

			initStringInfo(&value);
			p = scan_string(filter, p, &value);
			add_token(out, &allocated, FT_STRING, start, value.data);
		}
		else if (is_digit(c) || ((c == '-' || c == '+') && is_digit(filter[p + 1])))
		{
			p = scan_number(filter, p);
			add_token(out, &allocated, FT_NUMBER, start, pnstrdup(filter + start, p - start));
		}
		else if (c == '(' || c == ')' || c == ',')
		{
			p++;
			add_token(out, &allocated, c == '(' ? FT_LPAREN : c == ')' ? FT_RPAREN : FT_COMMA, start,
					  pnstrdup(filter + start, 1));
		}
		else if (c == '=' || c == '<' || c == '>' || (c == '!' && filter[p + 1] == '='))
		{
			p++;
			if ((c == '<' && (filter[p] == '=' || filter[p] == '>')) ||
				(c == '>' && filter[p] == '=') || c == '!')
				p++;
			add_token(out, &allocated, FT_COMPARE, start, pnstrdup(filter + start, p - start));
		}
		else
			FilterError(filter, start, ERRCODE_SYNTAX_ERROR,
						"Quote values ('c-7'); operators are = != < <= > >= IN BETWEEN STARTS_WITH IS NULL.",
						"unexpected character \"%.*s\"", pg_mblen(filter + p), filter + p);
	}
}
