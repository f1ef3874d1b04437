/* durable_test.h: unit tests of workflows, against a real store, with a
 * clock that skips itself.
 *
 * A test program registers its workflows and activities (or stubs standing
 * in for activities) on the harness's worker, starts workflows, and waits
 * for their results. The harness works in a namespace of its own (a fresh
 * one per durable_test_new), runs the worker in the same process, and
 * whenever nothing in that namespace can run (every open workflow waits for
 * a timer, a timeout or a retry's backoff), skips the namespace's clock to
 * the next deadline (durable.skip_to_next_deadline): a 30-day timer fires at
 * once, and no other namespace's time moves. The store is a real cluster,
 * named by dsn or libpq's PG* environment; the caller needs operator rights
 * on the namespace and worker rights on its task queue.
 *
 *	durable_test_t *t;
 *	durable_test_new(NULL, &t);
 *	durable_worker_register_workflow(durable_test_worker(t), "Loan", loan);
 *	durable_worker_register_activity(durable_test_worker(t), "credit_check", stub, NULL);
 *	durable_test_start(t, "loan-1", "Loan", input);
 *	json_t *result;
 *	DURABLE_EXPECT(durable_test_result(t, "loan-1", &result) == 0, "completes");
 *	durable_test_free(t);
 *
 * JSON follows durable.h's rule: what you pass in is borrowed, what the
 * harness hands you (results, failures, histories) belongs to it until
 * durable_test_free. Calls return 0 or a negative status, as in durable.h.
 */
#ifndef DURABLE_TEST_H
#define DURABLE_TEST_H

#include <stdio.h>
#include <durable.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct durable_test_s durable_test_t;

typedef struct {
	const char *dsn;          /* NULL/"" = libpq's PG* environment */
	const char *namespace_;   /* NULL = a fresh one, "test-<pid>-<n>-<time>" */
	const char *task_queue;   /* NULL = "test" */
	double timeout;           /* real seconds a wait may take: 0 = 60 */
	int manual_time;          /* 1: skip time only with durable_test_skip */
} durable_test_options_t;

int durable_test_new(const durable_test_options_t *opts, durable_test_t **out);
/* Its worker: register workflows and activities on it before the first
 * durable_test_start (the worker starts then). */
durable_worker_t *durable_test_worker(durable_test_t *t);
const char *durable_test_namespace(durable_test_t *t);
const char *durable_test_task_queue(durable_test_t *t);

/* JSON the harness owns until durable_test_free (json_pack's format, as
 * durable_json): inputs and signals without bookkeeping. NULL on a bad
 * format (logged). */
json_t *durable_test_json(durable_test_t *t, const char *fmt, ...);

/* Starts a workflow on the harness's queue and namespace. */
int durable_test_start(durable_test_t *t, const char *workflow_id, const char *workflow_type, json_t *input);
int durable_test_signal(durable_test_t *t, const char *workflow_id, const char *name, json_t *input);
int durable_test_cancel(durable_test_t *t, const char *workflow_id);
/* Waits until the workflow closes (skipping time as above; a workflow that
 * continues as new is followed to its last run) and returns how: 0
 * COMPLETED (*result set, may be NULL), DURABLE_EFAILED (FAILED or
 * TERMINATED), DURABLE_ECANCELED, DURABLE_ETIMEDOUT (the workflow timed
 * out); durable_test_failure() says why. -ETIMEDOUT when the real-time
 * timeout passed first, DURABLE_EDB on a database error (logged). */
int durable_test_result(durable_test_t *t, const char *workflow_id, json_t **result);
/* Waits until nothing in the namespace can run without time passing or an
 * outside event (a signal), without skipping time: before sending a signal
 * to a workflow that should be waiting for it. */
int durable_test_idle(durable_test_t *t);
/* Moves the namespace's clock forward by seconds (durable.skip_time). */
int durable_test_skip(durable_test_t *t, double seconds);
/* The namespace's clock, ms since the epoch. */
int64_t durable_test_now(durable_test_t *t);

/* The failure of the last workflow durable_test_result saw close without
 * completing ({message, type, ...}), or NULL. */
json_t *durable_test_failure(durable_test_t *t);
/* The workflow's history (its latest run): an array of {event_id,
 * event_type, event_time, attributes}, or NULL on error. */
json_t *durable_test_history(durable_test_t *t, const char *workflow_id);
/* How many events of the type the workflow's latest run has (< 0: error). */
int durable_test_count_events(durable_test_t *t, const char *workflow_id, const char *event_type);
/* Whether value equals the JSON text expected (numbers compared as jansson
 * does: 1 and 1.0 differ). */
int durable_test_json_is(json_t *value, const char *expected);

/* Stops the worker, drops nothing (the namespace's runs stay, for a look
 * afterwards) and frees the harness. */
void durable_test_free(durable_test_t *t);

/* Asserting, for a test program's main: counts checks and failures, prints
 * each failure with its file and line, never aborts mid-test. */
static int durable_test_checks_ __attribute__((unused)), durable_test_failed_ __attribute__((unused));
#define DURABLE_EXPECT(cond, ...)                                                         \
	do {                                                                               \
		durable_test_checks_++;                                                    \
		if (!(cond)) {                                                             \
			durable_test_failed_++;                                            \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
		}                                                                          \
	} while (0)
/* The workflow completed with exactly this result (JSON text). */
#define DURABLE_EXPECT_RESULT(t, workflow_id, expected_json)                               \
	do {                                                                               \
		json_t *durable_test_r_ = NULL;                                            \
		int durable_test_rc_ = durable_test_result((t), (workflow_id), &durable_test_r_); \
		DURABLE_EXPECT(durable_test_rc_ == 0 && durable_test_json_is(durable_test_r_, (expected_json)), \
			       "%s: %s", (workflow_id), durable_strerror(durable_test_rc_)); \
	} while (0)
/* The workflow's history has exactly n events of this type. */
#define DURABLE_EXPECT_EVENTS(t, workflow_id, event_type, n)                               \
	DURABLE_EXPECT(durable_test_count_events((t), (workflow_id), (event_type)) == (n),         \
		       "%s has %d %s events", (workflow_id),                                     \
		       durable_test_count_events((t), (workflow_id), (event_type)), (event_type))
/* main's return value: 0 when every check passed. */
#define DURABLE_TEST_DONE()                                                               \
	(printf("%d checks, %d failed\n", durable_test_checks_, durable_test_failed_),     \
	 durable_test_failed_ ? 1 : 0)

#ifdef __cplusplus
}
#endif
#endif
