/* The daemon's own connection to the store: it LISTENs for history
 * changes (durable.watch_history), pushes them to the browsers that watch
 * a run (Server-Sent Events), measures task latencies and timer lateness
 * from the new events, and samples the task queues for their charts. */
#ifndef WEB_FOLLOW_H
#define WEB_FOLLOW_H

#include <microhttpd.h>
#include <stdbool.h>

int follow_start(void);
void follow_stop(void);

/* An event stream telling its reader each time run_id's history changes. */
struct MHD_Response *sse_response(const char *run_id);
int sse_count(void);
void sse_notify(const char *run_id); /* NULL: every stream (after a reconnect) */

/* metrics.c */
char *metrics_render(void);             /* Prometheus text, malloc'd */
char *samples_json(const char *ns);     /* the task queue charts' samples */
void metrics_sample_queues(void *conn); /* PGconn *: one sample of every queue */
void metrics_follow_runs(void *conn, char **runs, int n); /* new events of these runs */
void metrics_init(void);
void metrics_free(void);

#endif
