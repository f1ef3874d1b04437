/* log.c: one line per event worth knowing, to the host's log handler or stderr. */
#ifndef DURABLE_LOG_H
#define DURABLE_LOG_H

void durable__log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int durable__debug_enabled(void);
/* Reads DURABLE_LOG again (durable_worker_new does): whether DEBUG lines go out. */
int durable__log_reread(void);

#endif
