/*
 * list_filter.c: compiles a list filter (Temporal's visibility query syntax)
 * into the pieces of SQL that list_workflows and count_workflows run.
 *
 *   WorkflowType = 'Billing' AND ExecutionStatus = 'Running'
 *     AND CustomerId = 'c-7' AND StartTime > '2026-11-01T00:00:00Z'
 *     ORDER BY StartTime DESC
 *
 * No text of the filter ever becomes SQL. The SQL written here is made of
 * this file's own string constants: column names from the table of built-in
 * attributes, or "v.keyword03" for a declared attribute (its type's prefix
 * and its slot number, an integer, given by the caller from
 * durable.search_attribute_types); and every value of the filter becomes an
 * element of one text[] parameter, referred to as ($1[N])::type. Values are
 * checked here against the attribute's type (an RFC 3339 time, a whole
 * number, a status name) so that a bad one is refused with its position, not
 * by a cast failing later.
 *
 * The grammar (keywords in any case):
 *   filter  := [or] [ORDER BY key [ASC|DESC] {, key [ASC|DESC]}] | [or] GROUP BY ExecutionStatus
 *   or      := and {OR and}
 *   and     := not {AND not}
 *   not     := NOT not | ( or ) | name predicate
 *   predicate := compare value | [NOT] IN ( value {, value} )
 *              | [NOT] BETWEEN value AND value | STARTS_WITH value | IS [NOT] NULL
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "list_filter.h"

PG_FUNCTION_INFO_V1(durable_compile_list_filter);

typedef enum AttrType
{
	AT_KEYWORD,
	AT_TEXT,
	AT_INT,
	AT_DOUBLE,
	AT_BOOL,
	AT_DATETIME,
	AT_KEYWORDLIST,
	AT_STATUS,					/* ExecutionStatus: Running, Completed, ... */
	AT_UUID						/* RunId, ParentRunId */
} AttrType;

typedef struct TypeInfo
{
	const char *name;			/* as durable.search_attribute_types spells it */
	const char *column_prefix;	/* of its slots in search_attribute_values */
	int			slots;
	const char *cast;			/* SQL type of a value */
	bool		ordered;		/* < <= > >= BETWEEN ORDER BY */
} TypeInfo;

static const TypeInfo type_info[] = {
	[AT_KEYWORD] = {"Keyword", "keyword", 10, "text", true},
	[AT_TEXT] = {"Text", "text", 3, "text", false},
	[AT_INT] = {"Int", "int", 3, "bigint", true},
	[AT_DOUBLE] = {"Double", "double", 3, "float8", true},
	[AT_BOOL] = {"Bool", "bool", 3, "boolean", false},
	[AT_DATETIME] = {"Datetime", "datetime", 3, "timestamptz", true},
	[AT_KEYWORDLIST] = {"KeywordList", "keywordlist", 3, "text", false},
	[AT_STATUS] = {"Keyword", NULL, 0, "text", true},
	[AT_UUID] = {"Keyword", NULL, 0, "uuid", true},
};

typedef struct Attr
{
	const char *name;
	AttrType	type;
	const char *column;			/* SQL over workflows w and search_attribute_values v */
	bool		not_null;		/* a key of ORDER BY that may bound an index scan */
} Attr;

static const Attr builtin_attrs[] = {
	{"WorkflowId", AT_KEYWORD, "w.workflow_id", true},
	{"WorkflowType", AT_KEYWORD, "w.workflow_type", true},
	{"RunId", AT_UUID, "w.run_id", true},
	{"ExecutionStatus", AT_STATUS, "w.status", true},
	{"StartTime", AT_DATETIME, "w.started_at", true},
	{"CloseTime", AT_DATETIME, "w.closed_at", false},
	{"ExecutionTime", AT_DATETIME, "(w.started_at + coalesce(w.start_delay, interval '0'))", true},
	{"TaskQueue", AT_KEYWORD, "w.task_queue", true},
	{"ParentWorkflowId", AT_KEYWORD, "w.parent_workflow_id", false},
	{"ParentRunId", AT_UUID, "w.parent_run_id", false},
	{"DurableScheduledById", AT_KEYWORD, "(w.search_attributes ->> 'DurableScheduledById')", false},
};

/* Temporal's names of the statuses, and how workflows.status spells them */
static const char *const status_names[][2] = {
	{"Running", "RUNNING"}, {"Completed", "COMPLETED"}, {"Failed", "FAILED"},
	{"Canceled", "CANCELED"}, {"Terminated", "TERMINATED"}, {"TimedOut", "TIMED_OUT"},
	{"ContinuedAsNew", "CONTINUED_AS_NEW"},
};

typedef struct Compiler
{
	FilterTokens toks;
	int			cur;
	Attr	   *declared;		/* the namespace's declared attributes */
	int			ndeclared;
	StringInfoData where;
	List	   *values;			/* char *, the elements of $1 */
	int			depth;
	bool		by_close_time;	/* ORDER BY CloseTime first (state_closed) */
} Compiler;

static void compile_or(Compiler *c);

static FilterToken *
peek(Compiler *c)
{
	return &c->toks.tokens[c->cur];
}

static FilterToken *
next(Compiler *c)
{
	FilterToken *t = &c->toks.tokens[c->cur];

	if (t->kind != FT_EOF)
		c->cur++;
	return t;
}

static bool
is_keyword(FilterToken *t, const char *word)
{
	return t->kind == FT_WORD && pg_strcasecmp(t->text, word) == 0;
}

static bool
accept_keyword(Compiler *c, const char *word)
{
	if (!is_keyword(peek(c), word))
		return false;
	c->cur++;
	return true;
}

static const char *
describe(FilterToken *t)
{
	switch (t->kind)
	{
		case FT_EOF:
			return "the end of the filter";
		case FT_STRING:
			return psprintf("the string '%s'", t->text);
		default:
			return psprintf("\"%s\"", t->text);
	}
}

static void
expect_keyword(Compiler *c, const char *word, const char *hint)
{
	if (!accept_keyword(c, word))
		FilterError(c->toks.filter, peek(c)->pos, ERRCODE_SYNTAX_ERROR, hint,
					"expected %s, found %s", word, describe(peek(c)));
}

static const char *const keywords[] = {
	"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "ORDER", "BY", "ASC", "DESC", "GROUP",
	"TRUE", "FALSE", "STARTS_WITH", "LIKE",
};

static bool
is_any_keyword(FilterToken *t)
{
	for (int i = 0; i < lengthof(keywords); i++)
		if (is_keyword(t, keywords[i]))
			return true;
	return false;
}

/* The attribute a name token names; raises 42703 for an unknown one. */
static const Attr *
resolve_attr(Compiler *c, FilterToken *t)
{
	const char *near = NULL;

	if (t->kind != FT_QUOTED_NAME && (t->kind != FT_WORD || is_any_keyword(t)))
		FilterError(c->toks.filter, t->pos, ERRCODE_SYNTAX_ERROR,
					"A condition starts with a search attribute name, e.g. WorkflowType = 'Billing'.",
					"expected a search attribute name, found %s", describe(t));
	for (int i = 0; i < lengthof(builtin_attrs); i++)
	{
		if (strcmp(builtin_attrs[i].name, t->text) == 0)
			return &builtin_attrs[i];
		if (pg_strcasecmp(builtin_attrs[i].name, t->text) == 0)
			near = builtin_attrs[i].name;
	}
	for (int i = 0; i < c->ndeclared; i++)
	{
		if (strcmp(c->declared[i].name, t->text) == 0)
			return &c->declared[i];
		if (pg_strcasecmp(c->declared[i].name, t->text) == 0)
			near = c->declared[i].name;
	}
	FilterError(c->toks.filter, t->pos, ERRCODE_UNDEFINED_COLUMN,
				near ? psprintf("Names are case-sensitive: did you mean %s?", near)
				: "durable.list_search_attributes() lists the attributes of the namespace; an administrator declares more with durable.add_search_attribute().",
				"unknown search attribute \"%s\"", t->text);
}

/* ---- values ---------------------------------------------------------- */

static bool
is_rfc3339(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int			i;
	int			month,
				day,
				hour,
				minute,
				second;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : (s[i] != shape[i] && !(shape[i] == 'T' && s[i] == 't')))
			return false;
	if (s[i] == '.')
	{
		int			digits = 0;

		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits < 1 || digits > 9)
			return false;
	}
	if (s[i] == 'Z' || s[i] == 'z')
		i++;
	else if (s[i] == '+' || s[i] == '-')
	{
		if (!(s[i + 1] >= '0' && s[i + 1] <= '2' && s[i + 2] >= '0' && s[i + 2] <= '9' && s[i + 3] == ':' &&
			  s[i + 4] >= '0' && s[i + 4] <= '5' && s[i + 5] >= '0' && s[i + 5] <= '9'))
			return false;
		i += 6;
	}
	else
		return false;
	if (s[i] != '\0')
		return false;
	month = (s[5] - '0') * 10 + s[6] - '0';
	day = (s[8] - '0') * 10 + s[9] - '0';
	hour = (s[11] - '0') * 10 + s[12] - '0';
	minute = (s[14] - '0') * 10 + s[15] - '0';
	second = (s[17] - '0') * 10 + s[18] - '0';
	/* a day past its month's end (2026-02-30) is left to timestamptz_in's own check */
	return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

static bool
is_uuid(const char *s)
{
	int			hex = 0;

	for (int i = 0; s[i]; i++)
	{
		if (s[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23))
			continue;
		if (!isxdigit((unsigned char) s[i]))
			return false;
		hex++;
	}
	return hex == 32 && strlen(s) == 36;
}

static const char *
status_value(const char *s)
{
	char		folded[32];
	int			n = 0;

	for (int i = 0; s[i] && n < (int) sizeof(folded) - 1; i++)
		if (s[i] != '_')
			folded[n++] = s[i];
	folded[n] = '\0';
	for (int i = 0; i < lengthof(status_names); i++)
		if (pg_strcasecmp(folded, status_names[i][0]) == 0)
			return status_names[i][1];
	return NULL;
}

/*
 * Reads one value for attr, checks it against attr's type, and appends the
 * SQL that refers to it: ($1[N])::type. Only N, an integer, reaches the SQL.
 */
static void
compile_value(Compiler *c, const Attr *attr, StringInfo sql)
{
	FilterToken *t = next(c);
	const char *filter = c->toks.filter;
	const TypeInfo *ti = &type_info[attr->type];
	const char *value = NULL;

	if (is_keyword(t, "NULL"))
		FilterError(filter, t->pos, ERRCODE_SYNTAX_ERROR, "Write IS NULL or IS NOT NULL.",
					"NULL is not a value to compare with");
	if (t->kind != FT_STRING && t->kind != FT_NUMBER && t->kind != FT_WORD)
		FilterError(filter, t->pos, ERRCODE_SYNTAX_ERROR, "A value is 'quoted text', a number, true or false.",
					"expected a value, found %s", describe(t));
	switch (attr->type)
	{
		case AT_KEYWORD:
		case AT_TEXT:
		case AT_KEYWORDLIST:
			if (t->kind == FT_STRING)
				value = t->text;
			break;
		case AT_STATUS:
			if (t->kind == FT_STRING && (value = status_value(t->text)) == NULL)
				FilterError(filter, t->pos, ERRCODE_INVALID_PARAMETER_VALUE,
							"Use Running, Completed, Failed, Canceled, Terminated, TimedOut or ContinuedAsNew.",
							"unknown execution status '%s'", t->text);
			break;
		case AT_UUID:
			if (t->kind == FT_STRING && !is_uuid(t->text))
				FilterError(filter, t->pos, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"A run id is a UUID such as '0b6cc7a5-3a8e-4a8e-9d7c-0c7f3e1d2a44'.",
							"%s needs a run id, not '%s'", attr->name, t->text);
			if (t->kind == FT_STRING)
				value = t->text;
			break;
		case AT_INT:
			if (t->kind == FT_NUMBER)
			{
				char	   *end;

				errno = 0;
				(void) strtoll(t->text, &end, 10);
				if (*end != '\0' || errno == ERANGE)
					FilterError(filter, t->pos, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"An Int is a whole number between -2^63 and 2^63-1.",
								"%s is an Int: %s is not a whole number in its range", attr->name, t->text);
				value = t->text;
			}
			break;
		case AT_DOUBLE:
			if (t->kind == FT_NUMBER)
			{
				double		d;

				errno = 0;
				d = strtod(t->text, NULL);
				if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
					FilterError(filter, t->pos, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, NULL,
								"%s is a Double: %s is out of its range", attr->name, t->text);
				value = t->text;
			}
			break;
		case AT_BOOL:
			if (is_keyword(t, "TRUE") || (t->kind == FT_STRING && pg_strcasecmp(t->text, "true") == 0))
				value = "true";
			else if (is_keyword(t, "FALSE") || (t->kind == FT_STRING && pg_strcasecmp(t->text, "false") == 0))
				value = "false";
			break;
		case AT_DATETIME:
			if (t->kind == FT_STRING && !is_rfc3339(t->text))
				FilterError(filter, t->pos, ERRCODE_INVALID_DATETIME_FORMAT,
							"Write a time in RFC 3339, e.g. '2026-11-01T00:00:00Z' or '2026-11-01T09:30:00.5+01:00'.",
							"%s is a Datetime: '%s' is not an RFC 3339 time", attr->name, t->text);
			if (t->kind == FT_STRING)
				value = t->text;
			break;
	}
	if (value == NULL)
		FilterError(filter, t->pos, ERRCODE_DATATYPE_MISMATCH,
					attr->type == AT_INT || attr->type == AT_DOUBLE ? "Write a number without quotes, e.g. 42."
					: attr->type == AT_BOOL ? "Write true or false."
					: "Quote the value, e.g. 'c-7'.",
					"%s is a %s, and %s is not one", attr->name, ti->name, describe(t));
	if (list_length(c->values) >= FILTER_MAX_VALUES)
		FilterError(filter, t->pos, ERRCODE_PROGRAM_LIMIT_EXCEEDED, NULL,
					"a filter may hold at most %d values", FILTER_MAX_VALUES);
	c->values = lappend(c->values, pstrdup(value));
	appendStringInfo(sql, "($1[%d])::%s", list_length(c->values), ti->cast);
}

/* ---- conditions ------------------------------------------------------ */

static void
refuse_operator(Compiler *c, FilterToken *op, const Attr *attr, const char *hint)
{
	FilterError(c->toks.filter, op->pos, ERRCODE_UNDEFINED_FUNCTION, hint,
				"%s is a %s: it cannot be compared with %s", attr->name,
				type_info[attr->type].name, op->text);
}

/*
 * After a condition on ExecutionStatus that only closed runs meet (= or IN
 * without Running, != or NOT IN with it), in a filter ordered by CloseTime:
 * AND closed_at IS NOT NULL, which the close writes with the status
 * (api/04_close.sql), so no result changes. It lets the planner walk
 * workflows_closed in CloseTime order for a status that the index of rare
 * statuses, workflows_closed_by_status, leaves out: COMPLETED
 * (schema/50_visibility.sql). Other orders go without it: the planner would
 * count it as a second, independent condition and misjudge how many rows
 * the status matches. values_from is the condition's first value in
 * c->values.
 */
static void
state_closed(Compiler *c, int values_from, bool negated)
{
	bool		names_running = false;

	if (!c->by_close_time)
		return;
	for (int i = values_from; i < list_length(c->values); i++)
		if (strcmp((char *) list_nth(c->values, i), "RUNNING") == 0)
			names_running = true;
	if (names_running == negated)
		appendStringInfoString(&c->where, " AND w.closed_at IS NOT NULL");
}

static void
compile_in(Compiler *c, const Attr *attr, FilterToken *op, bool negated)
{
	StringInfo sql = &c->where;
	FilterToken *t = next(c);
	int			values_from = list_length(c->values);

	if (attr->type == AT_TEXT)
		refuse_operator(c, op, attr, "A Text attribute takes = and != (a match of all words).");
	if (t->kind != FT_LPAREN)
		FilterError(c->toks.filter, t->pos, ERRCODE_SYNTAX_ERROR, "Write IN ('a', 'b').",
					"expected ( after IN, found %s", describe(t));
	if (attr->type == AT_STATUS)
		appendStringInfoChar(sql, '(');
	appendStringInfoString(sql, negated ? "NOT (" : "(");
	appendStringInfoString(sql, attr->column);
	appendStringInfoString(sql, attr->type == AT_KEYWORDLIST ? " && ARRAY[" : " IN (");
	for (;;)
	{
		compile_value(c, attr, sql);
		t = next(c);
		if (t->kind == FT_RPAREN)
			break;
		if (t->kind != FT_COMMA)
			FilterError(c->toks.filter, t->pos, ERRCODE_SYNTAX_ERROR, "Separate values with commas: IN ('a', 'b').",
						"expected , or ) in the IN list, found %s", describe(t));
		appendStringInfoString(sql, ", ");
	}
	appendStringInfoString(sql, attr->type == AT_KEYWORDLIST ? "])" : "))");
	if (attr->type == AT_STATUS)
	{
		state_closed(c, values_from, negated);
		appendStringInfoChar(sql, ')');
	}
}

static void
compile_compare(Compiler *c, const Attr *attr, FilterToken *op)
{
	StringInfo sql = &c->where;
	bool		equality = strcmp(op->text, "=") == 0;
	bool		inequality = strcmp(op->text, "!=") == 0 || strcmp(op->text, "<>") == 0;

	if (!equality && !inequality && !type_info[attr->type].ordered)
		refuse_operator(c, op, attr, "This type takes =, !=, IN and IS NULL.");
	if (attr->type == AT_TEXT)
	{
		/* Temporal's Text: a full-text match of all the words */
		appendStringInfo(sql, "%s(%s @@ plainto_tsquery('simple', ", inequality ? "NOT " : "", attr->column);
		compile_value(c, attr, sql);
		appendStringInfoString(sql, "))");
		return;
	}
	if (attr->type == AT_KEYWORDLIST)
	{
		/* = holds when the list contains the value */
		appendStringInfo(sql, "%s(%s @> ARRAY[", inequality ? "NOT " : "", attr->column);
		compile_value(c, attr, sql);
		appendStringInfoString(sql, "])");
		return;
	}
	appendStringInfo(sql, "(%s %s ", attr->column, inequality ? "<>" : op->text);
	compile_value(c, attr, sql);
	if (attr->type == AT_STATUS && (equality || inequality))
		state_closed(c, list_length(c->values) - 1, inequality);
	appendStringInfoChar(sql, ')');
}

static void
compile_condition(Compiler *c)
{
	FilterToken *name = next(c);
	const Attr *attr = resolve_attr(c, name);
	FilterToken *op = next(c);
	StringInfo sql = &c->where;

	if (op->kind == FT_COMPARE)
		compile_compare(c, attr, op);
	else if (is_keyword(op, "IN"))
		compile_in(c, attr, op, false);
	else if (is_keyword(op, "NOT") && is_keyword(peek(c), "IN"))
		compile_in(c, attr, next(c), true);
	else if (is_keyword(op, "BETWEEN") || (is_keyword(op, "NOT") && is_keyword(peek(c), "BETWEEN")))
	{
		bool		negated = is_keyword(op, "NOT");

		if (negated)
			op = next(c);
		if (!type_info[attr->type].ordered)
			refuse_operator(c, op, attr, "BETWEEN takes Keyword, Int, Double and Datetime attributes.");
		appendStringInfo(sql, "%s(%s BETWEEN ", negated ? "NOT " : "", attr->column);
		compile_value(c, attr, sql);
		expect_keyword(c, "AND", "Write BETWEEN low AND high.");
		appendStringInfoString(sql, " AND ");
		compile_value(c, attr, sql);
		appendStringInfoChar(sql, ')');
	}
	else if (is_keyword(op, "STARTS_WITH"))
	{
		if (attr->type != AT_KEYWORD)
			refuse_operator(c, op, attr, "STARTS_WITH takes Keyword attributes.");
		appendStringInfo(sql, "starts_with(%s, ", attr->column);
		compile_value(c, attr, sql);
		appendStringInfoChar(sql, ')');
	}
	else if (is_keyword(op, "IS"))
	{
		bool		negated = accept_keyword(c, "NOT");

		expect_keyword(c, "NULL", "Write IS NULL or IS NOT NULL.");
		appendStringInfo(sql, "(%s IS %sNULL)", attr->column, negated ? "NOT " : "");
	}
	else if (is_keyword(op, "LIKE"))
		FilterError(c->toks.filter, op->pos, ERRCODE_FEATURE_NOT_SUPPORTED,
					"Use STARTS_WITH 'prefix' for a Keyword, or = 'words' for a Text attribute.",
					"LIKE is not supported");
	else
		FilterError(c->toks.filter, op->pos, ERRCODE_SYNTAX_ERROR,
					"Operators are = != < <= > >= IN BETWEEN STARTS_WITH IS NULL.",
					"expected an operator after %s, found %s", attr->name, describe(op));
}

static void
compile_not(Compiler *c)
{
	FilterToken *t = peek(c);

	if (++c->depth > FILTER_MAX_DEPTH)
		FilterError(c->toks.filter, t->pos, ERRCODE_PROGRAM_LIMIT_EXCEEDED, NULL,
					"a filter may nest NOT and parentheses at most %d deep", FILTER_MAX_DEPTH);
	check_stack_depth();
	if (accept_keyword(c, "NOT"))
	{
		appendStringInfoString(&c->where, "NOT ");
		compile_not(c);
	}
	else if (t->kind == FT_LPAREN)
	{
		next(c);
		compile_or(c);
		t = next(c);
		if (t->kind != FT_RPAREN)
			FilterError(c->toks.filter, t->pos, ERRCODE_SYNTAX_ERROR, "Close each ( with a ).",
						"expected ), found %s", describe(t));
	}
	else
		compile_condition(c);
	c->depth--;
}

/* operand {word operand}, in parentheses: AND binds tighter than OR */
static void
compile_joined(Compiler *c, const char *word, void (*operand) (Compiler *))
{
	appendStringInfoChar(&c->where, '(');
	operand(c);
	while (accept_keyword(c, word))
	{
		appendStringInfo(&c->where, " %s ", word);
		operand(c);
	}
	appendStringInfoChar(&c->where, ')');
}

static void
compile_and(Compiler *c)
{
	compile_joined(c, "AND", compile_not);
}

static void
compile_or(Compiler *c)
{
	compile_joined(c, "OR", compile_and);
}

/* ---- ORDER BY -------------------------------------------------------- */

typedef struct OrderKey
{
	const char *column;
	bool		descending;
	bool		not_null;
} OrderKey;

static int
compile_order_by(Compiler *c, OrderKey *keys)
{
	int			n = 0;

	expect_keyword(c, "BY", "Write ORDER BY StartTime DESC.");
	do
	{
		FilterToken *name = next(c);
		const Attr *attr = resolve_attr(c, name);

		if (!type_info[attr->type].ordered && attr->type != AT_BOOL)
			FilterError(c->toks.filter, name->pos, ERRCODE_UNDEFINED_FUNCTION, NULL,
						"%s is a %s: it cannot be sorted", attr->name, type_info[attr->type].name);
		if (n == FILTER_MAX_ORDER_KEYS)
			FilterError(c->toks.filter, name->pos, ERRCODE_PROGRAM_LIMIT_EXCEEDED, NULL,
						"ORDER BY takes at most %d keys", FILTER_MAX_ORDER_KEYS);
		keys[n].column = attr->column;
		keys[n].not_null = attr->not_null;
		keys[n].descending = accept_keyword(c, "DESC");
		if (!keys[n].descending)
			(void) accept_keyword(c, "ASC");
		n++;
	} while (peek(c)->kind == FT_COMMA && next(c));
	return n;
}

/*
 * The keyset of a page: rows strictly after the anchor row a (the last row
 * of the previous page, whose keys are a.k1..a.kN), in the order of keys.
 * NULLs sort as PostgreSQL sorts them by default: after everything going up,
 * first going down.
 */
static char *
keyset_after(OrderKey *keys, int n)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoChar(&sql, '(');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&sql, " OR ");
		appendStringInfoChar(&sql, '(');
		for (int j = 0; j < i; j++)
			appendStringInfo(&sql, "%s IS NOT DISTINCT FROM a.k%d AND ", keys[j].column, j + 1);
		if (keys[i].descending)
			appendStringInfo(&sql, "CASE WHEN a.k%d IS NULL THEN %s IS NOT NULL ELSE %s < a.k%d END",
							 i + 1, keys[i].column, keys[i].column, i + 1);
		else
			appendStringInfo(&sql, "CASE WHEN a.k%d IS NULL THEN false ELSE (%s > a.k%d OR %s IS NULL) END",
							 i + 1, keys[i].column, i + 1, keys[i].column);
		appendStringInfoChar(&sql, ')');
	}
	appendStringInfoChar(&sql, ')');
	/* a bound an index scan can start from, when the first key has no NULLs */
	if (keys[0].not_null)
		appendStringInfo(&sql, " AND %s %s a.k1", keys[0].column, keys[0].descending ? "<=" : ">=");
	return sql.data;
}

/* ---- the entry point ------------------------------------------------- */

static void
read_declared(Compiler *c, ArrayType *names, ArrayType *types, ArrayType *slots)
{
	Datum	   *name_d,
			   *type_d,
			   *slot_d;
	bool	   *name_n,
			   *type_n,
			   *slot_n;
	int			n,
				n2,
				n3;

	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &name_d, &name_n, &n);
	deconstruct_array(types, TEXTOID, -1, false, TYPALIGN_INT, &type_d, &type_n, &n2);
	deconstruct_array(slots, INT4OID, 4, true, TYPALIGN_INT, &slot_d, &slot_n, &n3);
	if (n != n2 || n != n3)
		elog(ERROR, "durable._compile_list_filter: the declared attributes' arrays differ in length");
	c->declared = palloc0(sizeof(Attr) * Max(n, 1));
	c->ndeclared = 0;
	for (int i = 0; i < n; i++)
	{
		Attr	   *a = &c->declared[c->ndeclared];
		char	   *type = TextDatumGetCString(type_d[i]);
		int			slot = DatumGetInt32(slot_d[i]);
		int			t;

		if (name_n[i] || type_n[i] || slot_n[i])
			elog(ERROR, "durable._compile_list_filter: a declared attribute has a NULL");
		for (t = AT_KEYWORD; t <= AT_KEYWORDLIST; t++)
			if (strcmp(type_info[t].name, type) == 0)
				break;
		/* the slot is the only part of a declaration that reaches the SQL: an integer in range */
		if (t > AT_KEYWORDLIST || slot < 1 || slot > type_info[t].slots)
			elog(ERROR, "durable._compile_list_filter: bad declaration %s %d", type, slot);
		a->name = TextDatumGetCString(name_d[i]);
		a->type = (AttrType) t;
		a->column = psprintf("v.%s%02d", type_info[t].column_prefix, slot);
		a->not_null = false;
		c->ndeclared++;
	}
}

/*
 * durable._compile_list_filter(filter, names, types, slots, for_count)
 *   -> (where_sql, order_sql, anchor_sql, after_sql, params, group_by_status)
 */
Datum
durable_compile_list_filter(PG_FUNCTION_ARGS)
{
	Compiler	c;
	char	   *filter;
	bool		for_count = PG_GETARG_BOOL(4);
	bool		group_by_status = false;
	OrderKey	keys[FILTER_MAX_ORDER_KEYS + 1];
	int			nkeys = 0;
	StringInfoData order,
				anchor;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};
	Datum	   *params;
	int			i;
	ListCell   *lc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		elog(ERROR, "durable._compile_list_filter: NULL argument");
	filter = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strlen(filter) > FILTER_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("list filter: the filter is too long"),
				 errdetail("It has %zu bytes; the limit is %d.", strlen(filter), FILTER_MAX_BYTES)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "durable._compile_list_filter must return a record");

	memset(&c, 0, sizeof(c));
	read_declared(&c, PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_ARRAYTYPE_P(3));
	FilterTokenize(filter, &c.toks);
	initStringInfo(&c.where);
	for (i = 0; i + 2 < c.toks.count; i++)
		if (is_keyword(&c.toks.tokens[i], "ORDER") && is_keyword(&c.toks.tokens[i + 1], "BY") &&
			(c.toks.tokens[i + 2].kind == FT_WORD || c.toks.tokens[i + 2].kind == FT_QUOTED_NAME) &&
			strcmp(c.toks.tokens[i + 2].text, "CloseTime") == 0)
			c.by_close_time = true;

	if (peek(&c)->kind == FT_EOF || is_keyword(peek(&c), "ORDER") || is_keyword(peek(&c), "GROUP"))
		appendStringInfoString(&c.where, "true");
	else
		compile_or(&c);

	if (is_keyword(peek(&c), "ORDER"))
	{
		FilterToken *t = next(&c);

		if (for_count)
			FilterError(filter, t->pos, ERRCODE_SYNTAX_ERROR, "Counting takes no order; remove ORDER BY.",
						"ORDER BY is not allowed when counting");
		nkeys = compile_order_by(&c, keys);
	}
	else if (is_keyword(peek(&c), "GROUP"))
	{
		FilterToken *t = next(&c);
		FilterToken *by;

		if (!for_count)
			FilterError(filter, t->pos, ERRCODE_SYNTAX_ERROR, "GROUP BY is for durable.count_workflows.",
						"GROUP BY is only allowed when counting");
		expect_keyword(&c, "BY", "Write GROUP BY ExecutionStatus.");
		by = next(&c);
		if (!((by->kind == FT_WORD || by->kind == FT_QUOTED_NAME) && strcmp(by->text, "ExecutionStatus") == 0))
			FilterError(filter, by->pos, ERRCODE_FEATURE_NOT_SUPPORTED, "Write GROUP BY ExecutionStatus.",
						"counts can be grouped by ExecutionStatus only");
		group_by_status = true;
	}
	if (peek(&c)->kind != FT_EOF)
		FilterError(filter, peek(&c)->pos, ERRCODE_SYNTAX_ERROR,
					"Join conditions with AND or OR; ORDER BY comes last.",
					"unexpected %s", describe(peek(&c)));

	/* Temporal's default order, newest first; the run id makes it total */
	if (nkeys == 0)
	{
		keys[0].column = "w.started_at";
		keys[0].descending = true;
		keys[0].not_null = true;
		nkeys = 1;
	}
	keys[nkeys].column = "w.run_id";
	keys[nkeys].descending = keys[nkeys - 1].descending;
	keys[nkeys].not_null = true;
	nkeys++;

	initStringInfo(&order);
	initStringInfo(&anchor);
	for (i = 0; i < nkeys; i++)
	{
		appendStringInfo(&order, "%s%s%s", i ? ", " : "", keys[i].column, keys[i].descending ? " DESC" : "");
		appendStringInfo(&anchor, "%s%s AS k%d", i ? ", " : "", keys[i].column, i + 1);
	}

	params = palloc(sizeof(Datum) * Max(list_length(c.values), 1));
	i = 0;
	foreach(lc, c.values)
		params[i++] = CStringGetTextDatum((char *) lfirst(lc));

	values[0] = CStringGetTextDatum(c.where.data);
	values[1] = CStringGetTextDatum(order.data);
	values[2] = CStringGetTextDatum(anchor.data);
	values[3] = CStringGetTextDatum(keyset_after(keys, nkeys));
	values[4] = PointerGetDatum(construct_array(params, i, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = BoolGetDatum(group_by_status);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
