/*
 * history_pack.c: how an event is stored (issue 15, less WAL per step).
 *
 * durable.history is a view over durable.history_rows (api/01_history.sql),
 * which keeps each event's type as a small code and its attributes packed:
 * the attribute names durable writes become one character each, and the
 * (name, value) pairs most events carry (a null timeout, attempt 1, an empty
 * memo, the default retry policy, a scheduled_event_id that is the event just
 * before...) become one character of a list. An
 * activity's eleven events took ~1,800 bytes of attributes; packed, ~700.
 * The view renders both back, so every reader sees each event as it was
 * written: the same jsonb, pair for pair. A pair matches only a value that
 * is exactly its own (1.0 is not 1, a key order is irrelevant in jsonb), so
 * what unpacking gives back is what packing was given, whatever it was.
 *
 * The packed form is a jsonb object whose names are:
 *   one letter or digit   a name of attr_names[] below
 *   "~"                   a string: each character, one pair of pairs[]
 *   "^"                   the event type, when it has no code (code 0)
 *   "="                   the whole attributes, when they are not an object
 *   "!" + name            a name of one character, or one starting with "!"
 *   any other             that name, as it is
 * Codes are stored: the lists below only ever grow at their ends.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "durable.h"
#include "history_pack.h"

PG_FUNCTION_INFO_V1(durable_event_code);
PG_FUNCTION_INFO_V1(durable_event_type);
PG_FUNCTION_INFO_V1(durable_event_pack);
PG_FUNCTION_INFO_V1(durable_event_attributes);

/* event types: the code is the index (0: none, the name is in "^") */
static const char *const event_types[] = {
	NULL,
	"WorkflowExecutionStarted", "WorkflowTaskScheduled", "WorkflowTaskStarted",
	"WorkflowTaskCompleted", "ActivityTaskScheduled", "ActivityTaskStarted",
	"ActivityTaskCompleted", "WorkflowExecutionCompleted", "ActivityTaskFailed",
	"ActivityTaskTimedOut", "ActivityTaskCancelRequested", "ActivityTaskCanceled",
	"WorkflowTaskFailed", "WorkflowTaskTimedOut", "TimerStarted", "TimerFired",
	"TimerCanceled", "WorkflowExecutionSignaled", "WorkflowExecutionFailed",
	"WorkflowExecutionTimedOut", "WorkflowExecutionCanceled", "WorkflowExecutionTerminated",
	"WorkflowExecutionContinuedAsNew", "WorkflowExecutionCancelRequested", "MarkerRecorded",
	"UpsertWorkflowSearchAttributes", "StartChildWorkflowExecutionInitiated",
	"StartChildWorkflowExecutionFailed", "ChildWorkflowExecutionStarted",
	"ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
	"ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionTimedOut",
	"ChildWorkflowExecutionTerminated", "SignalExternalWorkflowExecutionInitiated",
	"SignalExternalWorkflowExecutionFailed", "ExternalWorkflowExecutionSignaled",
	"RequestCancelExternalWorkflowExecutionInitiated",
	"RequestCancelExternalWorkflowExecutionFailed", "ExternalWorkflowExecutionCancelRequested",
	"WorkflowExecutionUpdateAccepted", "WorkflowExecutionUpdateCompleted",
	"WorkflowExecutionPaused", "WorkflowExecutionUnpaused", "ActivityTaskPaused",
	"ActivityTaskUnpaused", "WorkflowPropertiesModified", "WorkflowExecutionOptionsUpdated",
	"ActivityTaskOptionsUpdated",
};
#define N_EVENT_TYPES lengthof(event_types)

/* one character per name or pair: 62 of each at most */
static const char codes[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* attribute names durable writes (the most frequent first) */
static const char *const attr_names[] = {
	"identity", "scheduled_event_id", "attempt", "task_queue", "start_to_close_timeout",
	"started_event_id", "workflow_task_completed_event_id", "input", "result",
	"activity_type", "workflow_type", "parent_initiated_event_id", "last_failure",
	"parent_workflow_id", "workflow_task_timeout", "continued_execution_run_id",
	"parent_run_id", "retry_policy", "workflow_execution_timeout", "search_attributes",
	"heartbeat_timeout", "schedule_to_start_timeout", "activity_id",
	"schedule_to_close_timeout", "first_execution_run_id", "workflow_run_timeout", "memo",
	"failure", "details", "reason", "workflow_id", "run_id", "initiated_event_id",
	"timer_id", "start_to_fire_timeout", "signal_name", "namespace", "cause", "message",
	"retry_state", "new_execution_run_id", "update_id", "request_id", "header",
	"marker_name", "timeout_type", "priority", "fairness_key", "build_id", "control",
	"parent_close_policy", "timeout_at", "started_at", "scheduled_at", "update_name",
	"accepted_event_id", "external_workflow_id", "external_run_id",
};

/*
 * (name, value) pairs. value NULL: the row's own run id, as text, or, with
 * back > 0, the row's own event id minus back (the event a task's Started
 * or Completed event points at is most often the one just before it).
 */
typedef struct Pair
{
	const char *name;
	const char *value;
	int			back;
} Pair;
static const Pair pairs[] = {
	{"attempt", "1"},
	{"identity", "null"},
	{"last_failure", "null"},
	{"parent_run_id", "null"},
	{"parent_workflow_id", "null"},
	{"parent_initiated_event_id", "null"},
	{"continued_execution_run_id", "null"},
	{"workflow_run_timeout", "null"},
	{"workflow_execution_timeout", "null"},
	{"heartbeat_timeout", "null"},
	{"schedule_to_close_timeout", "null"},
	{"schedule_to_start_timeout", "null"},
	{"memo", "{}"},
	{"search_attributes", "{}"},
	{"retry_policy", "{\"initial_interval\": 1, \"maximum_attempts\": 0, \"maximum_interval\": 100, "
	 "\"backoff_coefficient\": 2, \"non_retryable_error_types\": []}"},
	{"start_to_close_timeout", "10"},
	{"workflow_task_timeout", "10"},
	{"first_execution_run_id", NULL},
	{"input", "null"},
	{"result", "null"},
	{"failure", "null"},
	{"details", "null"},
	{"header", "null"},
	{"request_id", "null"},
	{"new_execution_run_id", "null"},
	{"scheduled_event_id", NULL, 1},
	{"scheduled_event_id", NULL, 2},
	{"started_event_id", NULL, 1},
	{"workflow_task_completed_event_id", NULL, 1},
};

StaticAssertDecl(lengthof(attr_names) <= sizeof(codes) - 1, "one character per name");
StaticAssertDecl(lengthof(pairs) <= sizeof(codes) - 1, "one character per pair");

/*
 * Built once per backend (load): the pairs' values as jsonb, the name of
 * each pair, which names have pairs, the names' lengths and each code
 * character's index. Packing and unpacking run for every event written and
 * read, so each lookup is a comparison of lengths, then of bytes.
 */
static bool loaded = false;
static Jsonb *pair_values[lengthof(pairs)];
static int	pair_names[lengthof(pairs)];
static bool name_has_pairs[lengthof(attr_names)];
static int	name_lens[lengthof(attr_names)];
static int	name_ranks[lengthof(attr_names)];	/* each name's place in jsonb's key order */
static int8 code_of_char[128];

/* jsonb's order of an object's keys: the shorter first, then by bytes */
static int
key_order(const char *a, int alen, const char *b, int blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int
name_index(const char *s, int len)
{
	for (int i = 0; i < (int) lengthof(attr_names); i++)
		if (name_lens[i] == len && memcmp(attr_names[i], s, len) == 0)
			return i;
	return -1;
}

static int
code_index(char c)
{
	return (unsigned char) c < 128 ? code_of_char[(unsigned char) c] : -1;
}

static void
load(void)
{
	MemoryContext old;

	if (loaded)
		return;
	memset(code_of_char, -1, sizeof(code_of_char));
	for (int i = 0; codes[i]; i++)
		code_of_char[(unsigned char) codes[i]] = i;
	for (int i = 0; i < (int) lengthof(attr_names); i++)
		name_lens[i] = strlen(attr_names[i]);
	for (int i = 0; i < (int) lengthof(attr_names); i++)
	{
		name_ranks[i] = 0;
		for (int j = 0; j < (int) lengthof(attr_names); j++)
			if (key_order(attr_names[j], name_lens[j], attr_names[i], name_lens[i]) < 0)
				name_ranks[i]++;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	for (int i = 0; i < (int) lengthof(pairs); i++)
	{
		pair_names[i] = name_index(pairs[i].name, strlen(pairs[i].name));
		Assert(pair_names[i] >= 0);
		name_has_pairs[pair_names[i]] = true;
		if (pairs[i].value)
			pair_values[i] = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pairs[i].value)));
	}
	MemoryContextSwitchTo(old);
	loaded = true;
}

/* the same scalar, byte for byte (a numeric's scale included) */
static bool
scalars_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvString:
			return a->val.string.len == b->val.string.len
				&& memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvNumeric:
			return VARSIZE_ANY(a->val.numeric) == VARSIZE_ANY(b->val.numeric)
				&& memcmp(a->val.numeric, b->val.numeric, VARSIZE_ANY(a->val.numeric)) == 0;
		default:
			return false;
	}
}

/* the same container, token for token */
static bool
containers_equal(JsonbContainer *a, JsonbContainer *b)
{
	JsonbIterator *ia = JsonbIteratorInit(a);
	JsonbIterator *ib = JsonbIteratorInit(b);
	JsonbValue	va,
				vb;
	JsonbIteratorToken ta,
				tb;

	for (;;)
	{
		ta = JsonbIteratorNext(&ia, &va, false);
		tb = JsonbIteratorNext(&ib, &vb, false);
		if (ta != tb)
			return false;
		if (ta == WJB_DONE)
			return true;
		if ((ta == WJB_KEY || ta == WJB_VALUE || ta == WJB_ELEM) && !scalars_equal(&va, &vb))
			return false;
		if (ta == WJB_BEGIN_ARRAY && va.val.array.rawScalar != vb.val.array.rawScalar)
			return false;
	}
}

/* the pair's value, as a value to push (a scalar, or a container as binary) */
static void
pair_value(int p, Datum run, int64 event_id, char **run_text, JsonbValue *v)
{
	Jsonb	   *jb = pair_values[p];

	if (pairs[p].back > 0)
	{
		v->type = jbvNumeric;
		v->val.numeric = int64_to_numeric(event_id - pairs[p].back);
	}
	else if (jb == NULL)
	{
		if (*run_text == NULL)
			*run_text = DatumGetCString(DirectFunctionCall1(uuid_out, run));
		v->type = jbvString;
		v->val.string.val = *run_text;
		v->val.string.len = strlen(*run_text);
	}
	else if (!JsonbExtractScalar(&jb->root, v))
	{
		v->type = jbvBinary;
		v->val.binary.data = &jb->root;
		v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
}

/* the pair that (name, v) is, or -1 */
static int
pair_of(int name, const JsonbValue *v, Datum run, int64 event_id, char **run_text)
{
	if (!name_has_pairs[name])
		return -1;
	for (int p = 0; p < (int) lengthof(pairs); p++)
	{
		JsonbValue	pv;

		if (pair_names[p] != name)
			continue;
		/* (an id or the run's id is only worth computing for its own type) */
		if (pairs[p].back > 0 ? v->type != jbvNumeric : pairs[p].value == NULL && v->type != jbvString)
			continue;
		pair_value(p, run, event_id, run_text, &pv);
		if (pv.type == jbvBinary
			? (v->type == jbvBinary && containers_equal(v->val.binary.data, pv.val.binary.data))
			: scalars_equal(v, &pv))
			return p;
	}
	return -1;
}

int16
DurableEventCode(const char *type, int len)
{
	for (int i = 1; i < (int) N_EVENT_TYPES; i++)
		if (strncmp(event_types[i], type, len) == 0 && event_types[i][len] == '\0')
			return i;
	return 0;
}

Jsonb *
DurableEventPack(Datum run, int64 event_id, const char *type, int type_len, Jsonb *attributes)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	k,
				v,
			   *packed;
	char	   *run_text = NULL;
	char		listed[lengthof(pairs) + 1];
	int			n_listed = 0;

	load();
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (!JB_ROOT_IS_OBJECT(attributes))
	{
		DurableJsonbPushKeyLen(&state, "=", 1);
		v.type = jbvBinary;
		v.val.binary.data = &attributes->root;
		v.val.binary.len = VARSIZE(attributes) - VARHDRSZ;
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	else
	{
		it = JsonbIteratorInit(&attributes->root);
		(void) JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
		while (JsonbIteratorNext(&it, &k, true) == WJB_KEY)
		{
			const char *s = k.val.string.val;
			int			len = k.val.string.len;
			int			name = name_index(s, len);

			(void) JsonbIteratorNext(&it, &v, true);	/* WJB_VALUE */
			if (name >= 0)
			{
				int			p = pair_of(name, &v, run, event_id, &run_text);

				if (p >= 0)
				{
					listed[n_listed++] = codes[p];
					continue;
				}
				DurableJsonbPushKeyLen(&state, &codes[name], 1);
			}
			else if (len == 1 || (len > 0 && s[0] == '!'))
			{
				char	   *escaped = palloc(len + 1);

				escaped[0] = '!';
				memcpy(escaped + 1, s, len);
				DurableJsonbPushKeyLen(&state, escaped, len + 1);
			}
			else
				pushJsonbValue(&state, WJB_KEY, &k);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
		if (n_listed > 0)
		{
			DurableJsonbPushKeyLen(&state, "~", 1);
			DurableJsonbPushString(&state, listed, n_listed);
		}
	}
	if (DurableEventCode(type, type_len) == 0)
	{
		DurableJsonbPushKeyLen(&state, "^", 1);
		DurableJsonbPushString(&state, type, type_len);
	}
	packed = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(packed);
}

/* An attribute of an object being unpacked: its name and value. */
typedef struct Unpacked
{
	int			rank;			/* name_ranks[] of a listed name; -1: another name */
	const char *name;
	int			len;
	JsonbValue	value;
} Unpacked;

static int
unpacked_order(const Unpacked *a, const Unpacked *b)
{
	if (a->rank >= 0 && b->rank >= 0)
		return a->rank - b->rank;
	return key_order(a->name, a->len, b->name, b->len);
}

static Unpacked *
next_unpacked(Unpacked **u, int *n, int *cap)
{
	if (*n == *cap)
	{
		*cap *= 2;
		*u = repalloc(*u, *cap * sizeof(Unpacked));
	}
	return &(*u)[(*n)++];
}

/*
 * The attributes of packed, pushed as one value onto state: after a key, or,
 * when they are an object (not "="), onto an empty state. Returns the value.
 *
 * The names are pushed in the order jsonb keeps them (shorter first, then by
 * bytes), which the codes' order is not: jsonb sorts an object's pairs when
 * it is closed, and a sorted object costs it one comparison per pair, where
 * the codes' order cost a sort that moved each pair (64 bytes) several times:
 * 3% of the server's CPU in the three-activity shape, most of it here and in
 * the events around. The order among equal names, which decides the one
 * kept, is the order in packed, as before (the sort below keeps it).
 */
JsonbValue *
DurableEventUnpackPush(JsonbParseState **state, Datum run, int64 event_id, Jsonb *packed)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	char	   *run_text = NULL;
	Unpacked   *u;
	int			n = 0;
	int			cap;
	int		   *order;

	if (!JB_ROOT_IS_OBJECT(packed))
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a stored event's attributes are not packed")));
	/* attributes that are not an object: the value itself */
	if (getKeyJsonValueFromContainer(&packed->root, "=", 1, &v) != NULL)
		return pushJsonbValue(state, WJB_VALUE, &v);

	load();
	cap = JsonContainerSize(&packed->root) + lengthof(pairs);
	u = palloc(cap * sizeof(Unpacked));
	it = JsonbIteratorInit(&packed->root);
	(void) JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
	while (JsonbIteratorNext(&it, &k, true) == WJB_KEY)
	{
		const char *s = k.val.string.val;
		int			len = k.val.string.len;
		Unpacked   *a;

		(void) JsonbIteratorNext(&it, &v, true);	/* WJB_VALUE */
		if (len == 1 && s[0] == '~' && v.type == jbvString)
		{
			for (int i = 0; i < v.val.string.len; i++)
			{
				int			p = code_index(v.val.string.val[i]);

				if (p < 0 || p >= (int) lengthof(pairs))
					ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
									errmsg("a stored event names an unknown attribute pair \"%c\"",
										   v.val.string.val[i])));
				a = next_unpacked(&u, &n, &cap);
				a->rank = name_ranks[pair_names[p]];
				a->name = pairs[p].name;
				a->len = name_lens[pair_names[p]];
				pair_value(p, run, event_id, &run_text, &a->value);
			}
			continue;
		}
		if (len == 1 && s[0] == '^')
			continue;
		a = next_unpacked(&u, &n, &cap);
		a->rank = -1;
		a->value = v;
		if (len == 1)
		{
			int			name = code_index(s[0]);

			if (name < 0 || name >= (int) lengthof(attr_names))
				ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
								errmsg("a stored event names an unknown attribute \"%c\"", s[0])));
			a->rank = name_ranks[name];
			a->name = attr_names[name];
			a->len = name_lens[name];
		}
		else if (len > 0 && s[0] == '!')
		{
			a->name = s + 1;
			a->len = len - 1;
		}
		else
		{
			a->name = s;
			a->len = len;
		}
	}

	/* (an insertion sort of the few attributes: stable, so equal names keep their order) */
	order = palloc(Max(n, 1) * sizeof(int));
	for (int i = 0; i < n; i++)
	{
		int			j = i;

		while (j > 0 && unpacked_order(&u[order[j - 1]], &u[i]) > 0)
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < n; i++)
	{
		DurableJsonbPushKeyLen(state, u[order[i]].name, u[order[i]].len);
		pushJsonbValue(state, WJB_VALUE, &u[order[i]].value);
	}
	pfree(order);
	pfree(u);
	return pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

/* the event type's name, as text */
text *
DurableEventType(int16 code, Datum packed)
{
	if (code > 0 && code < (int) N_EVENT_TYPES)
		return cstring_to_text(event_types[code]);
	if (code == 0)
	{
		Jsonb	   *jb = DatumGetJsonbP(packed);
		JsonbValue	v;

		/* (the lookup assumes an object: on anything else it reads out of bounds) */
		if (JB_ROOT_IS_OBJECT(jb) && getKeyJsonValueFromContainer(&jb->root, "^", 1, &v) != NULL
			&& v.type == jbvString)
			return cstring_to_text_with_len(v.val.string.val, v.val.string.len);
	}
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
					errmsg("a stored event has an unknown type code %d", code)));
}

/* durable._event_code(event_type text) -> smallint (0: kept in the attributes) */
Datum
durable_event_code(PG_FUNCTION_ARGS)
{
	text	   *type = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT16(DurableEventCode(VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type)));
}

/* durable._event_type(code smallint, packed jsonb) -> text */
Datum
durable_event_type(PG_FUNCTION_ARGS)
{
	/* the attributes are read (detoasted) only for a type without a code */
	PG_RETURN_TEXT_P(DurableEventType(PG_GETARG_INT16(0), PG_GETARG_DATUM(1)));
}

/* durable._event_pack(run uuid, event_id bigint, event_type text, attributes jsonb) -> jsonb */
Datum
durable_event_pack(PG_FUNCTION_ARGS)
{
	text	   *type = PG_GETARG_TEXT_PP(2);

	PG_RETURN_JSONB_P(DurableEventPack(PG_GETARG_DATUM(0), PG_GETARG_INT64(1),
									   VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type), PG_GETARG_JSONB_P(3)));
}

/* durable._event_attributes(run uuid, event_id bigint, packed jsonb) -> jsonb, as written */
Datum
durable_event_attributes(PG_FUNCTION_ARGS)
{
	JsonbParseState *state = NULL;
	Jsonb	   *packed = PG_GETARG_JSONB_P(2);
	JsonbValue	v;

	if (JB_ROOT_IS_OBJECT(packed) && getKeyJsonValueFromContainer(&packed->root, "=", 1, &v) != NULL)
		PG_RETURN_JSONB_P(JsonbValueToJsonb(&v));
	PG_RETURN_JSONB_P(JsonbValueToJsonb(DurableEventUnpackPush(&state, PG_GETARG_DATUM(0), PG_GETARG_INT64(1),
																packed)));
}
