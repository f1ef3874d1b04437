/* Log lines: "2026-11-26T08:40:00.123Z durable-worker[pid] LEVEL message". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

int durable__debug_enabled(void)
{
	const char *v = getenv("DURABLE_LOG");
	return v && strcmp(v, "debug") == 0;
}

void durable__log(const char *level, const char *fmt, ...)
{
	char msg[2048], when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	if (strcmp(level, "DEBUG") == 0 && !durable__debug_enabled())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one fprintf per line so that lines of concurrent processes do not mix */
	fprintf(stderr, "%s.%03ldZ durable-worker[%d] %s %s\n", when, ts.tv_nsec / 1000000, (int)getpid(), level, msg);
}
