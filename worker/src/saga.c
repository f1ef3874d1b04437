/* Sagas: the compensations of the steps that succeeded, run newest first
 * when a later step fails or the workflow is canceled. The compensations run
 * shielded from the workflow's cancellation: a cancel that arrives while they
 * run does not interrupt them (it is delivered afterwards), so an undo is
 * never abandoned half way. The saga belongs to the context and is built
 * again on every replay, like the rest of the workflow's state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"

typedef struct compensation {
	char *activity_type;
	json_t *input;                       /* a copy: sent later */
	durable_activity_options_t opts;     /* a copy; its strings are the caller's */
	int has_opts;
	struct compensation *next;           /* the one added before */
} compensation_t;

struct durable_saga_s {
	durable_ctx_t *ctx;
	compensation_t *newest;
	struct durable_saga_s *next;         /* the context's list */
};

durable_saga_t *durable_saga(durable_ctx_t *ctx)
{
	durable_saga_t *s = calloc(1, sizeof(*s));
	if (!s) {
		if (!ctx->stopped || ctx->stopped == DURABLE_BLOCKED)
			ctx->stopped = -ENOMEM;
		return NULL;
	}
	s->ctx = ctx;
	s->next = ctx->sagas;
	ctx->sagas = s;
	return s;
}

int durable_saga_add(durable_saga_t *s, const char *activity_type, json_t *input,
		     const durable_activity_options_t *opts)
{
	if (!s)
		return -ENOMEM;   /* durable_saga() failed */
	if (!activity_type)
		return -EINVAL;
	compensation_t *c = calloc(1, sizeof(*c));
	if (!c || !(c->activity_type = strdup(activity_type)) ||
	    !(c->input = input ? json_deep_copy(input) : json_null())) {
		if (c)
			free(c->activity_type);
		free(c);
		return -ENOMEM;
	}
	if (opts) {
		c->opts = *opts;
		c->has_opts = 1;
	}
	c->next = s->newest;
	s->newest = c;
	return 0;
}

int durable_saga_compensate(durable_saga_t *s, int rc)
{
	if (DURABLE_STOPPED(rc))
		return rc;
	if (!s)
		return -ENOMEM;
	durable_ctx_t *ctx = s->ctx;
	json_t *why = json_incref(ctx->failure);   /* what ended the steps */
	json_t *broken = NULL;                      /* the first compensation that failed */
	int status = 0;
	ctx->cancel_shield++;
	for (compensation_t *c = s->newest; c; c = c->next) {
		status = durable_activity(ctx, c->activity_type, c->input, c->has_opts ? &c->opts : NULL, NULL);
		if (DURABLE_STOPPED(status))
			break;
		if (status < 0 && !broken) {
			const char *m = json_string_value(json_object_get(ctx->failure, "message"));
			broken = json_pack("{s:s, s:s+++, s:O*}", "type", "CompensationFailed", "message",
					   "compensation ", c->activity_type, " failed: ", m ? m : durable_strerror(status),
					   "cause", why);
		}
		status = 0;
	}
	ctx->cancel_shield--;
	if (DURABLE_STOPPED(status)) {
		json_decref(why);
		json_decref(broken);
		return status;
	}
	/* the workflow goes on (or closes) with the failure that ended its steps */
	if (broken) {
		durable__set_failure(ctx, broken);
		json_decref(why);
		return DURABLE_EFAILED;
	}
	if (why)
		durable__set_failure(ctx, why);   /* our reference */
	return durable_cancel_requested(ctx) ? DURABLE_ECANCELED : rc;
}

void durable__sagas_free(durable_ctx_t *ctx)
{
	while (ctx->sagas) {
		durable_saga_t *s = ctx->sagas;
		ctx->sagas = s->next;
		while (s->newest) {
			compensation_t *c = s->newest;
			s->newest = c->next;
			free(c->activity_type);
			json_decref(c->input);
			free(c);
		}
		free(s);
	}
}
