/* Executable activities: DIR/<activity_type> gets the input as JSON on
 * stdin and prints the result as JSON on stdout. Exit status 0 completes
 * the activity; any other status fails it with the last 2 KiB of stderr as
 * the message (retryable), except exit status 2, which is non-retryable. A
 * failing program may instead print {"message": ..., "type": ...,
 * "non_retryable": true|false} on stdout to choose the failure itself. The
 * process is killed at the start-to-close deadline. A line
 * "DURABLE_HEARTBEAT <json>" on stderr records a heartbeat with those
 * details; once the workflow asks to cancel the activity, the next heartbeat
 * line gets the process a SIGTERM, and its exit reports it canceled. Once an
 * operator pauses it (pause_activity), the next heartbeat line gets it a
 * SIGTERM too, and its exit fails the attempt as ActivityPaused: it is
 * retried after unpause_activity.
 * Environment:
 * DURABLE_TASK_TOKEN, DURABLE_WORKFLOW_ID, DURABLE_ACTIVITY_ID,
 * DURABLE_ACTIVITY_TYPE, DURABLE_ATTEMPT, and DURABLE_HEARTBEAT_DETAILS (the
 * last attempt's heartbeat details, when there are some). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "json_text.h"

extern char **environ;

#define MAX_OUT (16 * 1024 * 1024)
#define TAIL 2048

typedef struct {
	struct durable_activity_ctx_s *a;
	void (*finished)(struct durable_activity_ctx_s *a);   /* activity.c's: the outcome sent */
	uv_process_t proc;
	uv_pipe_t in, out, err;
	uv_timer_t deadline;
	uv_write_t wreq;
	char *inbuf;
	char *outbuf;
	size_t outlen;
	char tail[TAIL];
	size_t taillen;
	char line[4096];      /* the stderr line being read, for heartbeats */
	size_t linelen;
	int canceled;
	int pending;          /* exit, stdout EOF, stderr EOF */
	int open_handles;
	int64_t exit_status;
	int term_signal, timed_out, spawned;
	char *env_extra[6];
	char **env;
} exec_t;

static void on_closed(uv_handle_t *h)
{
	exec_t *e = h->data;
	if (--e->open_handles > 0)
		return;
	struct durable_activity_ctx_s *a = e->a;
	void (*finished)(struct durable_activity_ctx_s *) = e->finished;
	free(e->inbuf);
	free(e->outbuf);
	for (int i = 0; i < 6; i++)
		free(e->env_extra[i]);
	free(e->env);
	free(e);
	a->exec = NULL;
	finished(a);
}

static void close_handle(exec_t *e, uv_handle_t *h)
{
	if (!uv_is_closing(h)) {
		h->data = e;
		uv_close(h, on_closed);
	}
}

static json_t *failure(const char *type, int non_retryable, const char *fmt, const char *detail, long n)
{
	char msg[TAIL + 128];
	snprintf(msg, sizeof(msg), fmt, n, detail);
	return json_pack("{s:s, s:s, s:b}", "message", msg, "type", type, "non_retryable", non_retryable);
}

static void decide(exec_t *e)
{
	struct durable_activity_ctx_s *a = e->a;
	while (e->taillen > 0 && (e->tail[e->taillen - 1] == '\n' || e->tail[e->taillen - 1] == ' '))
		e->taillen--;
	e->tail[e->taillen] = 0;
	if (e->outbuf)
		e->outbuf[e->outlen] = 0;
	const char *out = e->outbuf ? e->outbuf : "";
	json_t *parsed = durable__json_load(out, strlen(out), JSON_DECODE_ANY, NULL);
	a->rc = DURABLE_EFAILED;
	if (e->canceled) {
		a->rc = DURABLE_ECANCELED;
		a->failure = failure("CanceledError", 0, "canceled (exit status %ld); stderr: %s", e->tail,
				     (long)e->exit_status);
	} else if (e->timed_out) {
		a->failure = failure("TimeoutError", 0, "killed after %ld s at the start-to-close deadline; stderr: %s",
				     e->tail, (long)a->deadline_s);
	} else if (e->term_signal) {
		a->failure = failure("Signal", 0, "killed by signal %ld; stderr: %s", e->tail, (long)e->term_signal);
	} else if (e->exit_status == 0) {
		if (parsed || strspn(out, " \t\r\n") == strlen(out)) {
			a->rc = 0;
			a->result = parsed ? json_incref(parsed) : json_null();
		} else {
			a->failure = failure("BadOutput", 0, "exit status %ld but stdout is not JSON: %.200s", out, 0);
		}
	} else if (json_is_object(parsed) && json_is_string(json_object_get(parsed, "message"))) {
		a->failure = json_incref(parsed);
		if (!json_object_get(parsed, "non_retryable"))
			json_object_set_new(a->failure, "non_retryable", json_boolean(e->exit_status == 2));
	} else {
		a->failure = failure(e->exit_status == 2 ? "NonRetryableExit" : "ExitStatus", e->exit_status == 2,
				     "exit status %ld: %s", e->tail, (long)e->exit_status);
	}
	json_decref(parsed);
}

static void step(exec_t *e)
{
	if (--e->pending > 0)
		return;
	decide(e);
	uv_timer_stop(&e->deadline);
	close_handle(e, (uv_handle_t *)&e->proc);
	close_handle(e, (uv_handle_t *)&e->in);
	close_handle(e, (uv_handle_t *)&e->out);
	close_handle(e, (uv_handle_t *)&e->err);
	close_handle(e, (uv_handle_t *)&e->deadline);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	exec_t *e = p->data;
	e->exit_status = status;
	e->term_signal = sig;
	step(e);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(suggested);
	buf->len = buf->base ? suggested : 0;
}

static void on_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	exec_t *e = s->data;
	if (n > 0 && e->outlen + (size_t)n <= MAX_OUT) {
		char *grown = realloc(e->outbuf, e->outlen + (size_t)n + 1);
		if (grown) {
			memcpy(grown + e->outlen, buf->base, (size_t)n);
			e->outbuf = grown;
			e->outlen += (size_t)n;
		}
	}
	free(buf->base);
	if (n < 0) {
		uv_read_stop(s);
		step(e);
	}
}

static void add_tail(exec_t *e, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e->taillen == TAIL - 1) {       /* keep the last bytes */
			memmove(e->tail, e->tail + TAIL / 2, TAIL / 2 - 1);
			e->taillen = TAIL / 2 - 1;
		}
		e->tail[e->taillen++] = p[i];
	}
}

#define HB "DURABLE_HEARTBEAT "

/* A whole stderr line: a heartbeat, or part of the failure message. */
static void on_line(exec_t *e, const char *p, size_t n)
{
	if (n < sizeof(HB) - 1 || memcmp(p, HB, sizeof(HB) - 1) != 0) {
		add_tail(e, p, n);
		return;
	}
	json_t *details = durable__json_load(p + sizeof(HB) - 1, n - (sizeof(HB) - 1), JSON_DECODE_ANY, NULL);
	int cancel = durable_heartbeat(e->a, details);
	json_decref(details);
	if (cancel && !e->canceled) {
		e->canceled = 1;
		uv_process_kill(&e->proc, SIGTERM);
	}
}

static void on_err(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	exec_t *e = s->data;
	for (ssize_t i = 0; i < n; i++) {
		char c = buf->base[i];
		if (e->linelen < sizeof(e->line))
			e->line[e->linelen++] = c;
		if (c == '\n' || e->linelen == sizeof(e->line)) {
			on_line(e, e->line, e->linelen);
			e->linelen = 0;
		}
	}
	if (n < 0 && e->linelen) {
		on_line(e, e->line, e->linelen);
		e->linelen = 0;
	}
	free(buf->base);
	if (n < 0) {
		uv_read_stop(s);
		step(e);
	}
}

static void on_written(uv_write_t *req, int status)
{
	exec_t *e = req->data;
	(void)status;   /* a child that does not read its input is its business */
	close_handle(e, (uv_handle_t *)&e->in);
}

static void on_deadline(uv_timer_t *t)
{
	exec_t *e = t->data;
	e->timed_out = 1;
	uv_process_kill(&e->proc, SIGKILL);
}

static int build_env(exec_t *e)
{
	struct durable_activity_ctx_s *a = e->a;
	size_t n = 0;
	while (environ[n])
		n++;
	e->env = calloc(n + 7, sizeof(char *));
	if (!e->env)
		return -ENOMEM;
	memcpy(e->env, environ, n * sizeof(char *));
	const char *kv[][2] = {{"DURABLE_TASK_TOKEN", a->token}, {"DURABLE_WORKFLOW_ID", a->workflow_id},
			       {"DURABLE_ACTIVITY_ID", a->activity_id}, {"DURABLE_ACTIVITY_TYPE", a->type}};
	for (int i = 0; i < 4; i++) {
		size_t len = strlen(kv[i][0]) + strlen(kv[i][1]) + 2;
		if (!(e->env_extra[i] = malloc(len)))
			return -ENOMEM;
		snprintf(e->env_extra[i], len, "%s=%s", kv[i][0], kv[i][1]);
		e->env[n++] = e->env_extra[i];
	}
	if (!(e->env_extra[4] = malloc(40)))
		return -ENOMEM;
	snprintf(e->env_extra[4], 40, "DURABLE_ATTEMPT=%d", a->attempt);
	e->env[n++] = e->env_extra[4];
	if (a->last_details) {
		/* the previous attempt's progress, so a retry can resume */
		char *d = durable__json_text(a->last_details);
		size_t len = d ? strlen(d) + sizeof("DURABLE_HEARTBEAT_DETAILS=") : 0;
		if (d && (e->env_extra[5] = malloc(len))) {
			snprintf(e->env_extra[5], len, "DURABLE_HEARTBEAT_DETAILS=%s", d);
			e->env[n++] = e->env_extra[5];
		}
		free(d);
	}
	return 0;
}

int durable__exec_activity(struct durable_activity_ctx_s *a, const char *path,
			   void (*finished)(struct durable_activity_ctx_s *a))
{
	uv_loop_t *loop = &a->w->loop;
	exec_t *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->a = a;
	e->finished = finished;
	a->exec = e;
	e->inbuf = durable__json_text(a->input ? a->input : json_null());
	if (!e->inbuf || build_env(e) < 0) {
		for (int i = 0; i < 6; i++)
			free(e->env_extra[i]);
		free(e->env);
		free(e->inbuf);
		free(e);
		a->exec = NULL;
		return -ENOMEM;
	}
	uv_pipe_init(loop, &e->in, 0);
	uv_pipe_init(loop, &e->out, 0);
	uv_pipe_init(loop, &e->err, 0);
	uv_timer_init(loop, &e->deadline);
	e->open_handles = 5;
	e->in.data = e->out.data = e->err.data = e->deadline.data = e->proc.data = e;

	char *args[] = {(char *)path, NULL};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&e->in},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&e->out},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&e->err},
	};
	uv_process_options_t o = {.exit_cb = on_exit_cb, .file = path, .args = args, .env = e->env,
				  .stdio_count = 3, .stdio = stdio};
	int rc = uv_spawn(loop, &e->proc, &o);
	if (rc < 0) {
		durable__log("ERROR", "cannot run %s: %s", path, uv_strerror(rc));
		a->failure = json_pack("{s:s, s:s}", "message", uv_strerror(rc), "type", "SpawnError");
		e->pending = 1;
		a->rc = DURABLE_EFAILED;
		/* decide() is skipped: close everything and finish with this failure */
		close_handle(e, (uv_handle_t *)&e->proc);
		close_handle(e, (uv_handle_t *)&e->in);
		close_handle(e, (uv_handle_t *)&e->out);
		close_handle(e, (uv_handle_t *)&e->err);
		close_handle(e, (uv_handle_t *)&e->deadline);
		return 0;
	}
	e->pending = 3;
	uv_buf_t buf = uv_buf_init(e->inbuf, (unsigned)strlen(e->inbuf));
	e->wreq.data = e;
	if (uv_write(&e->wreq, (uv_stream_t *)&e->in, &buf, 1, on_written) < 0)
		close_handle(e, (uv_handle_t *)&e->in);
	uv_read_start((uv_stream_t *)&e->out, on_alloc, on_out);
	uv_read_start((uv_stream_t *)&e->err, on_alloc, on_err);
	if (a->deadline_s > 0)
		uv_timer_start(&e->deadline, on_deadline, (uint64_t)(a->deadline_s * 1000) + 1, 0);
	return 0;
}
