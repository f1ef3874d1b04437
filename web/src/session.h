/* Signed-in sessions: a random id in an HttpOnly cookie, a CSRF token the
 * page sends back with every change, and a connection as the signed-in
 * role, so the store's grants decide what each user may do. */
#ifndef WEB_SESSION_H
#define WEB_SESSION_H

#include "db.h"
#include <time.h>

struct session {
	char id[65];
	char csrf[65];
	char role[128];
	bool act_workflows; /* may signal, cancel, terminate, reset, query */
	bool act_schedules; /* may pause, unpause, trigger, backfill */
	struct db_slot slot;
	/* count_workflows is a full scan: its answer is kept a little while */
	pthread_mutex_t cache_mu;
	char *counts;
	char counts_ns[128];
	time_t counts_at;
	time_t last_used;
	int refs;
	struct session *next;
};

extern int session_idle_seconds;

/* Connects as role/password; on success the new session (one reference). */
struct session *session_create(const char *role, const char *password, struct db_err *e);
/* The live session of a cookie id (one more reference), or NULL. */
struct session *session_get(const char *id);
void session_put(struct session *s);
void session_end(struct session *s);
/* Reads what the slot's role may do (the privileges of its functions). */
int session_load_rights(struct session *s, struct db_err *e);
/* Whether the session's role may operate in namespace ns (durable.has_access). */
bool session_may_operate(struct session *s, const char *ns);
/* The session used when sign-in is off: the daemon's role, read-only. */
struct session *session_anonymous(void);
int session_count(void);
void session_shutdown(void);

#endif
