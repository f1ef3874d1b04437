/* The replay check before a deploy: a recorded history (the NDJSON of the
 * mount's history file or of durable.get_history) is replayed against the
 * registered workflow code as the run's next workflow task would be, so a
 * non-deterministic change is found before the build reaches production. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "json_text.h"
#include "runtime.h"

/* One event per line; blank lines are skipped. A whole JSON array of events
 * is accepted too, so a file saved from json_agg(...) replays as well. */
static int read_history(const char *path, json_t **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	json_t *events = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int rc = events ? 0 : -ENOMEM;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		const char *p = line;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			continue;
		json_error_t jerr;
		json_t *v = durable__json_load(p, strlen(p), 0, &jerr);
		if (!v) {
			snprintf(err, errlen, "%s:%ld: not JSON: %s", path, lineno, jerr.text);
			rc = -EINVAL;
		} else if (json_is_array(v) && json_array_size(events) == 0) {
			json_decref(events);
			events = v;
		} else if (!json_is_object(v) || !json_is_integer(json_object_get(v, "event_id")) ||
			   !json_is_string(json_object_get(v, "event_type"))) {
			snprintf(err, errlen, "%s:%ld: not a history event (want an object with event_id and event_type)",
				 path, lineno);
			json_decref(v);
			rc = -EINVAL;
		} else if (json_array_append_new(events, v) < 0) {
			rc = -ENOMEM;
		}
	}
	free(line);
	fclose(f);
	if (rc < 0) {
		json_decref(events);
		return rc;
	}
	*out = events;
	return 0;
}

/* A run id found in the path (runs/<run_id>/history, or <run_id>.ndjson)
 * seeds durable_random() as the live run did; else the history's first
 * run id, right for the first run of a workflow id. */
static int uuid_at(const char *s)
{
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (!s[i] || (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i])))
			return 0;
	}
	return 1;
}

static void run_id_of(const char *path, json_t *started, char out[37])
{
	for (const char *p = path; strlen(p) >= 36; p++)
		if (uuid_at(p)) {
			memcpy(out, p, 36);
			out[36] = '\0';
			return;
		}
	snprintf(out, 37, "%s", durable__attr_str(started, "first_execution_run_id"));
}

int durable_worker_replay_file(durable_worker_t *w, const char *path, char *err, size_t errlen)
{
	json_t *history = NULL;
	char run_id[37];
	int rc = read_history(path, &history, err, errlen);
	if (rc < 0)
		return rc;
	char cerr[512];
	if (!(history = durable__decode_owned(&w->codecs, history, cerr, sizeof(cerr)))) {
		snprintf(err, errlen, "%s: %s: %s", path, DURABLE__CODEC_FAILURE, cerr);
		return DURABLE_EFAILED;
	}
	json_t *started = json_array_get(history, 0);
	if (strcmp(durable__event_type(started), "WorkflowExecutionStarted") != 0) {
		snprintf(err, errlen, "%s: the first event is not WorkflowExecutionStarted (a whole history is needed)",
			 path);
		json_decref(history);
		return -EINVAL;
	}
	run_id_of(path, started, run_id);
	const char *base = strrchr(path, '/');
	durable__task_t task = {
		.workflow_id = base ? base + 1 : path,
		.run_id = run_id,
		.workflow_type = durable__attr_str(started, "workflow_type"),
		.history = history,
		.started_event_id = 0,   /* the next task sees every event */
	};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	if ((rc = durable__replay(reg ? reg->wf : NULL, &task, &out)) < 0) {
		snprintf(err, errlen, "%s: %s", path, durable_strerror(rc));
		json_decref(history);
		return rc;
	}
	if (out.kind == DURABLE__FAIL_TASK) {
		snprintf(err, errlen, "%s: workflow %s: %s: %s", path, task.workflow_type, out.cause,
			 json_string_value(json_object_get(out.failure, "message")));
		rc = strcmp(out.cause, "NON_DETERMINISTIC_ERROR") == 0 ? DURABLE_ENONDET : DURABLE_EFAILED;
	}
	durable__outcome_free(&out);
	json_decref(history);
	return rc;
}
