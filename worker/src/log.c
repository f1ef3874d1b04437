/* Log lines: "2026-11-26T08:40:00.123Z durable-worker[pid] LEVEL message" on
 * stderr, or whatever the host program set with durable_set_log_handler. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

/* Process-wide, as a log destination is; set before workers run. */
static durable_log_fn log_fn;
static void *log_arg;

void durable_set_log_handler(durable_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

/* DURABLE_LOG, read again by each durable_worker_new and otherwise at the
 * first look: getenv at every DEBUG line (a few per workflow task, most of
 * them not logged) was 1% of the worker's instructions. -1: not read yet.
 * Atomic: activity threads log too. */
static atomic_int debug_on = -1;

int durable__log_reread(void)
{
	const char *v = getenv("DURABLE_LOG");
	int on = v && strcmp(v, "debug") == 0;
	atomic_store_explicit(&debug_on, on, memory_order_relaxed);
	return on;
}

int durable__debug_enabled(void)
{
	int on = atomic_load_explicit(&debug_on, memory_order_relaxed);
	return on >= 0 ? on : durable__log_reread();
}

void durable__log(const char *level, const char *fmt, ...)
{
	char msg[2048], when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	if (strcmp(level, "DEBUG") == 0 && !durable__debug_enabled())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn) {
		log_fn(level, msg, log_arg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* one fprintf per line so that lines of concurrent processes do not mix */
	fprintf(stderr, "%s.%03ldZ durable-worker[%d] %s %s\n", when, ts.tv_nsec / 1000000, (int)getpid(), level, msg);
}
