/* The workflow the HA test runs by the thousand: activities (one alone, two
 * in parallel, one last), two timers and a signal, with a result that says
 * every step ran once: for input {"n": N} and the signal {"add": A} it
 * returns {"v": 2N + 105 + A}. Each execution of the "step" activity appends
 * one line to $HA_LEDGER ("EXEC workflow_id activity_id attempt"), so the
 * test can count executions against what the store acknowledged. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <durable.h>

static void ledger(durable_activity_ctx_t *a)
{
	char line[512];
	const char *path = getenv("HA_LEDGER");
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
	if (fd < 0)
		return;
	int n = snprintf(line, sizeof(line), "EXEC %s %s %d\n", durable_activity_workflow_id(a),
			 durable_activity_id(a), durable_activity_attempt(a));
	/* one write(2) of one line on O_APPEND: lines of concurrent activities never mix */
	if (write(fd, line, (size_t)n) != n)
		perror("failover plugin: ledger");
	close(fd);
}

/* {"v": x} -> {"v": x + 1}, after a little work so that some are in flight
 * whenever the leader dies */
static int step(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)arg;
	struct timespec pause = {0, (long)(20 + rand() % 180) * 1000 * 1000};
	nanosleep(&pause, NULL);
	ledger(a);
	*result = durable_activity_json(a, "{s:I}", "v", json_integer_value(json_object_get(input, "v")) + 1);
	return 0;
}

static json_int_t v_of(json_t *r)
{
	return json_integer_value(json_object_get(r, "v"));
}

static int failover(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	static const durable_activity_options_t opts = {.start_to_close_timeout = 30};
	json_t *r, *r2, *r3, *sig;
	durable_future_t *par[2];
	json_int_t n = json_integer_value(json_object_get(input, "n"));
	double pause = json_number_value(json_object_get(input, "sleep"));

	DURABLE_TRY(durable_activity(ctx, "step", durable_json(ctx, "{s:I}", "v", n), &opts, &r));
	json_int_t v = v_of(r);
	DURABLE_TRY(durable_sleep(ctx, pause > 0 ? pause : 3));
	DURABLE_TRY(durable_activity_start(ctx, "step", durable_json(ctx, "{s:I}", "v", v), &opts, &par[0]));
	DURABLE_TRY(durable_activity_start(ctx, "step", durable_json(ctx, "{s:I}", "v", v + 100), &opts, &par[1]));
	DURABLE_TRY(durable_wait_all(ctx, par, 2));
	DURABLE_TRY(durable_future_get(ctx, par[0], &r2));
	DURABLE_TRY(durable_future_get(ctx, par[1], &r3));
	v = v_of(r2) + v_of(r3);
	DURABLE_TRY(durable_await_signal(ctx, "go", 3600, &sig));
	v += json_integer_value(json_object_get(sig, "add"));
	DURABLE_TRY(durable_sleep(ctx, 1));
	DURABLE_TRY(durable_activity(ctx, "step", durable_json(ctx, "{s:I}", "v", v), &opts, &r));
	*output = durable_json(ctx, "{s:I}", "v", v_of(r));
	return 0;
}

/* Its first attempt outlives its lease (start_to_close 3 s, it takes 6 s):
 * started just before the leader dies, its result comes during the outage
 * with the lease run out. Later attempts return at once. */
static int hold(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)arg;
	if (durable_activity_attempt(a) == 1) {
		struct timespec pause = {6, 0};
		nanosleep(&pause, NULL);
	}
	ledger(a);
	*result = input;
	return 0;
}

static int hold_workflow(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	static const durable_activity_options_t opts = {.start_to_close_timeout = 3};
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "hold", input, &opts, &r));
	*output = r;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Failover", failover));
	DURABLE_TRY(durable_worker_register_workflow(w, "Hold", hold_workflow));
	DURABLE_TRY(durable_worker_register_activity(w, "hold", hold, NULL));
	return durable_worker_register_activity(w, "step", step, NULL);
}
