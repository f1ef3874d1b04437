#include "session.h"
#include "http.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

int session_idle_seconds = 8 * 3600;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions;
static struct session anonymous;
static bool anonymous_ready;

static void random_hex(char out[65])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, 65, raw, sizeof raw);
}

static void destroy(struct session *s)
{
	db_slot_fini(&s->slot);
	pthread_mutex_destroy(&s->cache_mu);
	free(s->counts);
	sodium_memzero(s, sizeof *s);
	free(s);
}

#define MAX_SESSIONS 128
#define CONN_IDLE_SECONDS 300

/* lock held: drops sessions idle too long that nobody is using, closes the
 * connections of sessions idle a few minutes (reopened with the kept
 * password when used again), and keeps at most MAX_SESSIONS - 1, so that
 * signing in over and over cannot take every connection the server has */
static void sweep(time_t now)
{
	int n = 0;
	for (struct session **p = &sessions; *p;) {
		struct session *s = *p;
		if (s->refs == 0 && now - s->last_used > session_idle_seconds) {
			*p = s->next;
			destroy(s);
			continue;
		}
		if (s->refs == 0 && now - s->last_used > CONN_IDLE_SECONDS && pthread_mutex_trylock(&s->slot.mu) == 0) {
			if (s->slot.conn)
				PQfinish(s->slot.conn);
			s->slot.conn = NULL;
			pthread_mutex_unlock(&s->slot.mu);
		}
		n++;
		p = &s->next;
	}
	while (n >= MAX_SESSIONS) {
		struct session **oldest = NULL;
		for (struct session **p = &sessions; *p; p = &(*p)->next)
			if ((*p)->refs == 0 && (!oldest || (*p)->last_used < (*oldest)->last_used))
				oldest = p;
		if (!oldest)
			break;
		struct session *s = *oldest;
		*oldest = s->next;
		destroy(s);
		n--;
	}
}

int session_load_rights(struct session *s, struct db_err *e)
{
	/* the store's grants, asked of the store: what the buttons show is
	 * only a courtesy, every action is still checked when it is called.
	 * Operator access to the namespace (docs/security.md) covers both. */
	const char *p[] = { conf.ns };
	char *v = db_value(&s->slot,
			   "SELECT json_build_object('role', current_user,"
			   " 'workflows', operator, 'schedules', operator,"
			   " 'read_only', current_setting('default_transaction_read_only')::boolean)"
			   " FROM (SELECT CASE WHEN has_schema_privilege('durable', 'USAGE') AND"
			   "   has_function_privilege('durable.has_access(text,text,text)', 'EXECUTE')"
			   "   THEN durable.has_access('operator', NULL, $1) ELSE false END AS operator) a",
			   1, p, e);
	if (!v)
		return -1;
	json_t *j = json_loads(v, 0, NULL);
	free(v);
	const char *role = json_string_value(json_object_get(j, "role"));
	snprintf(s->role, sizeof s->role, "%s", role ? role : "?");
	bool ro = json_is_true(json_object_get(j, "read_only"));
	s->act_workflows = !ro && json_is_true(json_object_get(j, "workflows"));
	s->act_schedules = !ro && json_is_true(json_object_get(j, "schedules"));
	json_decref(j);
	return 0;
}

bool session_may_operate(struct session *s, const char *ns)
{
	struct db_err e;
	const char *p[] = { ns };
	char *v = db_value(&s->slot, "SELECT durable.has_access('operator', NULL, $1)", 1, p, &e);
	bool may = v && strcmp(v, "t") == 0;
	free(v);
	return may;
}

struct session *session_create(const char *role, const char *password, struct db_err *e)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		db_err_set(e, "53200", "out of memory", NULL);
		return NULL;
	}
	db_slot_init(&s->slot, role, password, false);
	pthread_mutex_init(&s->cache_mu, NULL);
	if (session_load_rights(s, e)) {
		destroy(s);
		return NULL;
	}
	random_hex(s->id);
	random_hex(s->csrf);
	s->refs = 1;
	s->last_used = time(NULL);
	pthread_mutex_lock(&lock);
	sweep(s->last_used);
	s->next = sessions;
	sessions = s;
	pthread_mutex_unlock(&lock);
	return s;
}

struct session *session_get(const char *id)
{
	if (!id || strlen(id) != 64)
		return NULL;
	time_t now = time(NULL);
	pthread_mutex_lock(&lock);
	sweep(now);
	struct session *found = NULL;
	for (struct session *s = sessions; s; s = s->next)
		if (sodium_memcmp(s->id, id, 64) == 0) {
			found = s;
			s->refs++;
			s->last_used = now;
			break;
		}
	pthread_mutex_unlock(&lock);
	return found;
}

void session_put(struct session *s)
{
	if (!s || s == &anonymous)
		return;
	pthread_mutex_lock(&lock);
	s->refs--;
	pthread_mutex_unlock(&lock);
}

void session_end(struct session *s)
{
	if (!s || s == &anonymous)
		return;
	pthread_mutex_lock(&lock);
	/* idle time zero: the next sweep frees it once the last user is done */
	s->last_used = 0;
	s->id[0] = 0;
	pthread_mutex_unlock(&lock);
}

struct session *session_anonymous(void)
{
	static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&first);
	if (!anonymous_ready) {
		db_slot_init(&anonymous.slot, NULL, NULL, true);
		pthread_mutex_init(&anonymous.cache_mu, NULL);
		anonymous_ready = true;
	}
	struct db_err e;
	if (!anonymous.role[0] && session_load_rights(&anonymous, &e) == 0) {
		/* sign-in off: read-only whatever the daemon's role may do */
		anonymous.act_workflows = anonymous.act_schedules = false;
	}
	pthread_mutex_unlock(&first);
	return &anonymous;
}

int session_count(void)
{
	int n = 0;
	pthread_mutex_lock(&lock);
	for (struct session *s = sessions; s; s = s->next)
		n += s->id[0] != 0;
	pthread_mutex_unlock(&lock);
	return n;
}

void session_shutdown(void)
{
	pthread_mutex_lock(&lock);
	while (sessions) {
		struct session *s = sessions;
		sessions = s->next;
		destroy(s);
	}
	if (anonymous_ready) {
		db_slot_fini(&anonymous.slot);
		pthread_mutex_destroy(&anonymous.cache_mu);
		free(anonymous.counts);
		anonymous.counts = NULL;
	}
	anonymous_ready = false;
	pthread_mutex_unlock(&lock);
}
