/*
 * fuzz: mutated inputs against a real store and a real durablefs mount.
 *
 * Each input goes to one target: a SQL entry point that takes JSON (commands,
 * start options, retry policies, schedule specs, payloads, failures) or a
 * writable file of the mount (start, signals, ctl, schedule ctl, task
 * results, query arguments). After each input:
 *   - a refused input must have changed nothing: a fingerprint of every
 *     durable table (outside the canary's namespace) is the same before and
 *     after. Accepted inputs are then settled (workflows terminated,
 *     schedules deleted, fresh victims made), so nothing runs in the
 *     background of the next refused input to blur the comparison;
 *   - no backend, timer worker or daemon crashed (the connection, the
 *     daemon's pid, the mount, the server log);
 *   - due timers still fire: a canary workflow in its own namespace sleeps
 *     1 s again and again, and none of its timers may stay overdue.
 * The inputs are a function of the seed alone (--max-inputs N repeats a run
 * exactly); the corpus is replayed before any mutation.
 *
 * usage: fuzz --seed N --seconds S --mount DIR --daemon-pid PID --pglog FILE
 *             --corpus DIR --found DIR [--max-inputs N] [--only TARGET] [--bytes-only 1]
 *        fuzz --seed N --dry COUNT    (prints the inputs' digests: no store needed)
 * Exits 0 when nothing was found, 1 when something was (see the summary).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mutate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "fz"
#define CANARY_NS "canary"
#define INPUT_ALARM 120		/* s: an input that takes this long is a stall */
#define CANARY_OVERDUE "30 seconds"	/* generous: the machine is shared */

static PGconn *db;
static const char *mnt, *pglog, *found_dir;
static pid_t daemon_pid;
static long pglog_off;
static char *fingerprint_sql;

/* The victims of this generation: quiescent things the targets aim at. */
static struct {
	int gen;
	char wf[64];		/* a running workflow, nobody works on it */
	char wft_token[64];	/* a leased workflow task */
	char act_token[64];	/* a leased activity task */
	char sched[64];		/* a paused schedule */
} v;
static long unique_id;

static struct {
	long inputs, accepted, refused, replayed;
	long crashes, changed, stalls, internal, parked;
	long deadlines;	/* timers and timeouts fired after accepted inputs */
	long canary_fired;
} tally;

/*
 * Distinct refusal reasons seen (SQLSTATE and message, or the mount's
 * last-error text without its time): how much of the validation the inputs
 * reached, to compare mutators with.
 */
#define MAX_REASONS 4096
static char *reasons[MAX_REASONS];
static bool deep[MAX_REASONS];
static int n_reasons;

/*
 * Whether a reason comes from durable's own checks, past the JSON parser:
 * what only inputs that stay well-formed reach (22023 bad value, 54000 too
 * large, DU00x state, the mount's own verb and spec checks).
 */
static bool is_deep(const char *why)
{
	return strstr(why, "22023") || strstr(why, "54000") || strstr(why, "DU0") ||
	       strstr(why, "every item refused") || strstr(why, "ctl: ") || strstr(why, "start spec: ");
}

static void note_reason(const char *why)
{
	char key[200];
	snprintf(key, sizeof key, "%s", why);
	/* numbers and quoted values vary per input; the reason does not */
	for (char *p = key; *p; p++)
		if (*p >= '0' && *p <= '9' && p - key > 5)
			*p = '#';
	char *q = strpbrk(key, "\"'");
	if (q)
		*q = '\0';
	for (int i = 0; i < n_reasons; i++)
		if (strcmp(reasons[i], key) == 0)
			return;
	if (n_reasons < MAX_REASONS) {
		deep[n_reasons] = is_deep(why);
		reasons[n_reasons++] = strdup(key);
	}
}

static int deep_reasons(void)
{
	int n = 0;
	for (int i = 0; i < n_reasons; i++)
		n += deep[i];
	return n;
}

/* What the alarm handler saves if an input hangs. */
static const char *cur_target;
static const char *cur_data;
static size_t cur_len;

static void die(const char *what)
{
	fprintf(stderr, "fuzz: %s: %s\n", what, db ? PQerrorMessage(db) : "");
	exit(2);
}

static PGresult *sql(const char *q, int n, const char *const *p)
{
	return PQexecParams(db, q, n, NULL, p, NULL, NULL, 0);
}

/* For setup statements that must work. */
static char *must(const char *q, int n, const char *const *p)
{
	PGresult *r = sql(q, n, p);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		fprintf(stderr, "fuzz: setup failed: %s\n  %s\n", q, PQresultErrorMessage(r));
		exit(2);
	}
	char *v = strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* --- the fingerprint of everything a refused input must not change --- */

static void build_fingerprint(void)
{
	PGresult *r = sql("SELECT c.table_name, bool_or(c.column_name = 'namespace'),"
			  " bool_or(c.column_name = 'run_id')"
			  " FROM information_schema.columns c JOIN information_schema.tables t"
			  "   USING (table_schema, table_name)"
			  " WHERE c.table_schema = 'durable' AND t.table_type = 'BASE TABLE'"
			  "   AND c.table_name <> 'task_queue_pollers'" /* liveness, not state */
			  " GROUP BY 1 ORDER BY 1", 0, NULL);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("listing tables");
	size_t cap = 65536;
	char *q = calloc(1, cap);
	strcat(q, "SELECT ''");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *t = PQgetvalue(r, i, 0);
		const char *where = PQgetvalue(r, i, 1)[0] == 't'
			? "t.namespace IS DISTINCT FROM '" CANARY_NS "'"
			: PQgetvalue(r, i, 2)[0] == 't'
			? "t.run_id NOT IN (SELECT run_id FROM durable.workflows WHERE namespace = '" CANARY_NS "')"
			: "true";
		char part[1024];
		snprintf(part, sizeof part,
			 " || '|%s:' || (SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)), 0)"
			 " FROM durable.%s t WHERE %s)", t, t, where);
		if (strlen(q) + strlen(part) + 1 > cap)
			die("too many tables");
		strcat(q, part);
	}
	PQclear(r);
	fingerprint_sql = q;
}

static char *fingerprint(void)
{
	PGresult *r = sql(fingerprint_sql, 0, NULL);
	char *f = PQresultStatus(r) == PGRES_TUPLES_OK ? strdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	return f;
}

/* --- victims, and settling after an accepted input --- */

/*
 * What an accepted input set on a timer, fired by the timer workers: durable
 * time is skipped to the namespace's last deadline (at most 400 days, so
 * that thousands of skips stay far inside timestamptz), and they fire what
 * came due (a bounded wait: a schedule may keep finding work). A value the store accepted but could not
 * fire is parked (durable.parked): each new parked item is a finding.
 */
#define SKIP_SQL \
	"SELECT durable.skip_time(least(max(d), durable.now() + interval '400 days') - durable.now()" \
	"  + interval '1 second') FROM (" \
	" SELECT t.fire_at d FROM durable.timers t JOIN durable.workflows w USING (run_id)" \
	"  WHERE w.namespace = '" NS "'" \
	" UNION ALL SELECT greatest(timeout_at, attempt_scheduled_at) FROM durable.activity_tasks" \
	"  WHERE namespace = '" NS "'" \
	" UNION ALL SELECT greatest(timeout_at, scheduled_at) FROM durable.workflow_tasks" \
	"  WHERE namespace = '" NS "'" \
	" UNION ALL SELECT deadline_at FROM durable.workflows WHERE namespace = '" NS "' AND status = 'RUNNING'" \
	" UNION ALL SELECT next_run_at FROM durable.schedules WHERE namespace = '" NS "' AND NOT paused) x" \
	" HAVING max(d) > durable.now()"

static void fire_what_was_accepted(void)
{
	/* rounds: a fired timeout may set a retry, a fired schedule a workflow */
	for (int round = 0; round < 3; round++) {
		PGresult *r = sql(SKIP_SQL, 0, NULL);
		bool skipped = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		PQclear(r);
		if (!skipped)
			break;
		for (int i = 0; i < 100; i++) {
			char *due = must("SELECT coalesce(durable.next_due() <= durable.now(), false)", 0, NULL);
			bool more = due[0] == 't';
			free(due);
			if (!more)
				break;
			usleep(10000);
		}
	}
	char *fired = must("SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)"
			   " WHERE w.namespace = '" NS "' AND h.event_type IN ('TimerFired', 'ActivityTaskTimedOut',"
			   " 'WorkflowTaskTimedOut', 'WorkflowExecutionTimedOut')", 0, NULL);
	tally.deadlines += atol(fired);
	free(fired);
	PGresult *r = sql("SELECT kind, item, error::text FROM durable.parked WHERE namespace = '" NS "'",
			  0, NULL);
	for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
		tally.parked++;
		fprintf(stderr, "fuzz: PARKED: the timer worker could not fire %s %s: %s\n",
			PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	}
	PQclear(r);
	free(must("DELETE FROM durable.parked WHERE namespace = '" NS "'", 0, NULL));
}

static void settle_and_make_victims(void)
{
	fire_what_was_accepted();
	/*
	 * Everything of the namespace goes (delete_workflow terminates what
	 * runs), so the fingerprint stays small; children a parent abandoned
	 * while it was deleted may need another round.
	 */
	for (int round = 0; round < 5; round++) {
		char *left = must(
			"DO $$DECLARE r record; BEGIN"
			" FOR r IN SELECT schedule_id FROM durable.schedules WHERE namespace = '" NS "' LOOP"
			"  PERFORM durable.delete_schedule(r.schedule_id, '" NS "');"
			" END LOOP;"
			" FOR r IN SELECT DISTINCT workflow_id FROM durable.workflows WHERE namespace = '" NS "' LOOP"
			"  BEGIN PERFORM durable.delete_workflow(r.workflow_id, 'fuzz: settle', '" NS "', 'fuzz');"
			"  EXCEPTION WHEN OTHERS THEN RAISE WARNING 'fuzz: settle: %: %', r.workflow_id, SQLERRM; END;"
			" END LOOP; END$$", 0, NULL);
		free(left);
		char *n = must("SELECT count(*) FROM durable.workflows WHERE namespace = '" NS "'", 0, NULL);
		bool done = strcmp(n, "0") == 0;
		free(n);
		if (done)
			break;
	}
	v.gen++;
	char g[16], q1[64], q2[64];
	snprintf(g, sizeof g, "%d", v.gen);
	snprintf(v.wf, sizeof v.wf, "v-wf-%d", v.gen);
	snprintf(v.sched, sizeof v.sched, "v-sched-%d", v.gen);
	snprintf(q1, sizeof q1, "fz-wft-%d", v.gen);
	snprintf(q2, sizeof q2, "fz-act-%d", v.gen);
	const char *opts = "{\"task_timeout\": 86400}";
	const char *p1[] = { v.wf, opts };
	free(must("SELECT durable.start_workflow($1, 'FzVictim', 'fz-idle', '{\"v\": 1}', $2, '" NS "')", 2, p1));
	char wft[64], actwf[64];
	snprintf(wft, sizeof wft, "v-wft-%d", v.gen);
	snprintf(actwf, sizeof actwf, "v-act-%d", v.gen);
	const char *p2[] = { wft, q1, opts };
	free(must("SELECT durable.start_workflow($1, 'FzVictim', $2, NULL, $3, '" NS "')", 3, p2));
	const char *p3[] = { q1 };
	char *t = must("SELECT task_token FROM durable.poll_workflow_tasks($1, 'fuzz', 1, NULL, '" NS "')", 1, p3);
	snprintf(v.wft_token, sizeof v.wft_token, "%s", t);
	free(t);
	/* an activity leased for a day: no timeout fires behind our back */
	const char *p4[] = { actwf, q2, opts };
	free(must("SELECT durable.start_workflow($1, 'FzVictim', $2, NULL, $3, '" NS "')", 3, p4));
	t = must("SELECT task_token FROM durable.poll_workflow_tasks($1, 'fuzz', 1, NULL, '" NS "')", 1, (const char *[]){ q2 });
	char cmds[256];
	snprintf(cmds, sizeof cmds,
		 "[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"a\", \"activity_type\": \"A\","
		 " \"task_queue\": \"%s\", \"start_to_close_timeout\": 86400}]", q2);
	const char *p5[] = { t, cmds };
	free(must("SELECT durable.complete_workflow_task($1, $2::jsonb, 'fuzz')", 2, p5));
	free(t);
	t = must("SELECT task_token FROM durable.poll_activity_tasks($1, 'fuzz', 1, '" NS "')", 1, (const char *[]){ q2 });
	snprintf(v.act_token, sizeof v.act_token, "%s", t);
	free(t);
	const char *p6[] = { v.sched };
	free(must("SELECT durable.create_schedule($1, '{\"interval\": [{\"every\": 3600}]}',"
		  " '{\"workflow_type\": \"T\", \"task_queue\": \"fz-idle\"}', '{\"paused\": true}', '" NS "')",
		  1, p6));
	(void)g;
}

/* --- the canary: a timer that must keep firing --- */

static void canary_start(void)
{
	free(must("SELECT durable.start_workflow('canary', 'Canary', 'canary-q', NULL,"
		  " '{\"task_timeout\": 86400, \"id_reuse_policy\": \"TERMINATE_IF_RUNNING\"}', '" CANARY_NS "')",
		  0, NULL));
}

/* Drives the canary (a new 1 s timer after each firing); false if overdue. */
static bool canary_tick(void)
{
	PGresult *r = sql("SELECT task_token FROM durable.poll_workflow_tasks('canary-q', 'fuzz-canary', 1,"
			  " NULL, '" CANARY_NS "')", 0, NULL);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		char cmds[160];
		snprintf(cmds, sizeof cmds, "[{\"type\": \"StartTimer\", \"timer_id\": \"t%ld\","
			 " \"start_to_fire_timeout\": 1}]", tally.canary_fired);
		const char *p[] = { PQgetvalue(r, 0, 0), cmds };
		PGresult *c = sql("SELECT durable.complete_workflow_task($1, $2::jsonb, 'fuzz-canary')", 2, p);
		if (PQresultStatus(c) == PGRES_TUPLES_OK)
			tally.canary_fired++;
		PQclear(c);
	}
	PQclear(r);
	r = sql("SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id)"
		" WHERE w.namespace = '" CANARY_NS "' AND t.fire_at < durable.now() - interval '" CANARY_OVERDUE "'",
		0, NULL);
	bool fine = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
	PQclear(r);
	return fine;
}

/* --- liveness --- */

/* New lines of the server log that mean a crash, or NULL. */
static char *server_log_crash(void)
{
	FILE *f = fopen(pglog, "r");
	if (!f)
		return NULL;
	fseek(f, pglog_off, SEEK_SET);
	char line[4096];
	char *hit = NULL;
	while (fgets(line, sizeof line, f)) {
		if (!hit && (strstr(line, "terminated by signal") || strstr(line, "PANIC:") ||
			     strstr(line, "TRAP:") || strstr(line, "exited with exit code") ||
			     strstr(line, "was terminated by exception")))
			hit = strdup(line);
	}
	pglog_off = ftell(f);
	fclose(f);
	return hit;
}

/* Why the system is not alive any more, or NULL. */
static const char *dead(void)
{
	static char why[4200];
	char *crash = server_log_crash();
	if (crash) {
		snprintf(why, sizeof why, "server log: %s", crash);
		free(crash);
		return why;
	}
	PGresult *r = sql("SELECT 1", 0, NULL);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok)
		return "the fuzzer's connection broke";
	if (daemon_pid > 0 && kill(daemon_pid, 0) != 0)
		return "durablefs exited";
	struct stat st;
	char path[4096];
	snprintf(path, sizeof path, "%s/README", mnt);
	if (mnt && stat(path, &st) != 0)
		return "the mount stopped answering";
	return NULL;
}

/* --- targets --- */

enum outcome { ACCEPTED, REFUSED, BROKEN };

struct target {
	const char *name;
	bool text;		/* verb lines, not JSON */
	const char *const *seeds;
	enum outcome (*apply)(const struct target *t, const char *data, size_t len, char *why);
	const char *sql;	/* SQL targets: $1 the input; $2 a fresh id; $3 a victim */
	const char *file;	/* mount targets: the path, %s the victim */
};

static const char *victim_for(const struct target *t)
{
	if (strstr(t->name, "workflow_task") || strstr(t->name, "commands"))
		return v.wft_token;
	if (strstr(t->name, "activity") || strstr(t->name, "task."))
		return v.act_token;
	if (strstr(t->name, "sctl"))
		return v.sched;
	return v.wf;
}

/*
 * The input with its placeholders filled: @ID@ a fresh id, @WF@ the victim
 * workflow, @TOKEN@ the target's victim (a task token).
 */
static char *fill(const char *data, size_t len, size_t *out_len, const char *id,
		  const char *victim)
{
	size_t cap = len * 2 + 256, n = 0;
	char *o = malloc(cap);
	for (size_t i = 0; i < len;) {
		const char *rep = NULL;
		size_t skip = 0;
		if (len - i >= 4 && memcmp(data + i, "@ID@", 4) == 0)
			rep = id, skip = 4;
		else if (len - i >= 4 && memcmp(data + i, "@WF@", 4) == 0)
			rep = v.wf, skip = 4;
		else if (len - i >= 7 && memcmp(data + i, "@TOKEN@", 7) == 0)
			rep = victim, skip = 7;
		size_t add = rep ? strlen(rep) : 1;
		if (n + add + 1 > cap) {
			cap = (n + add + 1) * 2;
			o = realloc(o, cap);
		}
		if (rep) {
			memcpy(o + n, rep, add);
			i += skip;
		} else {
			o[n] = data[i++];
		}
		n += add;
	}
	o[n] = '\0';
	*out_len = n;
	return o;
}

static enum outcome apply_sql(const struct target *t, const char *data, size_t len, char *why)
{
	char id[64];
	snprintf(id, sizeof id, "fz-%ld", ++unique_id);
	size_t n;
	char *doc = fill(data, len, &n, id, victim_for(t));
	/* libpq sends text: a NUL byte would end it early, so it goes as \u0000's bytes */
	const char *p[] = { doc, id, victim_for(t) };
	PGresult *r = sql(t->sql, 3, p);
	free(doc);
	ExecStatusType st = PQresultStatus(r);
	enum outcome o = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ? ACCEPTED : REFUSED;
	int col = o == ACCEPTED ? PQfnumber(r, "refused") : -1;
	if (col >= 0 && PQntuples(r) == 1 && PQgetvalue(r, 0, col)[0] == 't') {
		/* a batch whose every item was refused: it too must change nothing */
		snprintf(why, 512, "every item refused: %s", PQgetvalue(r, 0, PQfnumber(r, "why")));
		o = REFUSED;
		note_reason(why);
	} else if (o == REFUSED) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(why, 512, "%s: %s", state ? state : "?????", PQresultErrorMessage(r));
		why[strcspn(why, "\n")] = '\0';
		note_reason(why);
		if (PQstatus(db) != CONNECTION_OK)
			o = BROKEN;
		/* XX: an elog that a user's input reached, i.e. a can't-happen that happened */
		else if (state && (strncmp(state, "XX", 2) == 0 || strncmp(state, "58", 2) == 0))
			tally.internal++, fprintf(stderr, "fuzz: internal error from %s: %s\n", t->name, why);
	}
	PQclear(r);
	return o;
}

/* The reason the mount gave (its folder's last-error, without the time). */
static void note_last_error(const struct target *t)
{
	char path[4096], line[1024] = "";
	snprintf(path, sizeof path, "%s/", mnt);
	snprintf(path + strlen(path), sizeof path - strlen(path), t->file, victim_for(t));
	char *slash = strrchr(path, '/');
	if (strstr(t->file, "signals/") || strstr(t->file, "queries/"))
		*slash = '\0', slash = strrchr(path, '/'); /* the workflow's folder */
	snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "last-error");
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	const char *sp = strchr(line, ' ');
	line[strcspn(line, "\n")] = '\0';
	/* "TIME write PATH: ERRNO: reason": the path names this run's victim */
	const char *reason = sp ? strstr(sp, ": ") : NULL;
	char key[1100];
	snprintf(key, sizeof key, "%s%s", t->name, reason ? reason : line);
	char *near = strstr(key, " near ");
	if (near)
		*near = '\0';
	note_reason(key);
}

static enum outcome apply_file(const struct target *t, const char *data, size_t len, char *why)
{
	char path[4096], id[64];
	snprintf(path, sizeof path, "%s/", mnt);
	snprintf(path + strlen(path), sizeof path - strlen(path), t->file, victim_for(t));
	snprintf(id, sizeof id, "fz-%ld", ++unique_id);
	size_t n;
	char *doc = fill(data, len, &n, id, victim_for(t));
	int err = 0;
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0) {
		err = errno;
	} else {
		/* a refused tail of a split write returns a short count; retrying gets the errno */
		for (size_t done = 0; done < n && !err;) {
			ssize_t w = write(fd, doc + done, n - done);
			if (w < 0)
				err = errno;
			else
				done += (size_t)w;
		}
		if (close(fd) != 0 && !err)
			err = errno;
	}
	free(doc);
	if (!err)
		return ACCEPTED;
	snprintf(why, 512, "%s", strerrorname_np(err) ? strerrorname_np(err) : "errno");
	note_last_error(t);
	if (err == ENOTCONN || err == ECONNABORTED)
		return BROKEN;
	if (err == EIO) /* the daemon maps SQLSTATEs it does not expect to EIO */
		tally.internal++, fprintf(stderr, "fuzz: EIO from %s\n", t->name);
	return REFUSED;
}

static const char *const start_seeds[] = {
	"{\"input\": {\"amount\": 1200, \"items\": [\"book\"]}, \"options\": {\"execution_timeout\": 86400,"
	" \"run_timeout\": \"1 day\", \"task_timeout\": 10, \"id_reuse_policy\": \"REJECT_DUPLICATE\","
	" \"memo\": {\"team\": \"fz\"}, \"search_attributes\": {\"Customer\": \"c1\"}, \"identity\": \"fz\"}}",
	"{\"input\": null, \"options\": {}}",
	NULL,
};
static const char *const command_seeds[] = {
	"[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"charge\", \"activity_type\": \"Charge\","
	" \"input\": {\"amount\": 1}, \"start_to_close_timeout\": 30, \"schedule_to_close_timeout\": 300,"
	" \"schedule_to_start_timeout\": 60, \"heartbeat_timeout\": 10, \"retry_policy\": {\"initial_interval\": 1,"
	" \"backoff_coefficient\": 2.0, \"maximum_interval\": 100, \"maximum_attempts\": 5,"
	" \"non_retryable_error_types\": [\"CardDeclined\"]}}]",
	"[{\"type\": \"StartTimer\", \"timer_id\": \"t\", \"start_to_fire_timeout\": \"3 days\"},"
	" {\"type\": \"CancelTimer\", \"timer_id\": \"t\"}]",
	"[{\"type\": \"StartChildWorkflowExecution\", \"workflow_id\": \"@ID@\", \"workflow_type\": \"Child\","
	" \"task_queue\": \"fz-idle\", \"input\": 1, \"parent_close_policy\": \"ABANDON\","
	" \"workflow_execution_timeout\": 60, \"workflow_run_timeout\": 60, \"workflow_task_timeout\": 10,"
	" \"workflow_id_reuse_policy\": \"ALLOW_DUPLICATE\", \"memo\": {}, \"search_attributes\": {}}]",
	"[{\"type\": \"SignalExternalWorkflowExecution\", \"workflow_id\": \"@WF@\", \"signal_name\": \"s\","
	" \"input\": {\"x\": 1}, \"child_workflow_only\": false},"
	" {\"type\": \"RequestCancelExternalWorkflowExecution\", \"workflow_id\": \"@WF@\", \"reason\": \"r\"}]",
	"[{\"type\": \"RecordMarker\", \"marker_name\": \"side_effect\", \"details\": {\"v\": 4}},"
	" {\"type\": \"UpsertWorkflowSearchAttributes\", \"search_attributes\": {\"Stage\": \"two\"}}]",
	"[{\"type\": \"RequestCancelActivityTask\", \"scheduled_event_id\": 5}]",
	"[{\"type\": \"CompleteWorkflowExecution\", \"result\": {\"ok\": true}}]",
	"[{\"type\": \"FailWorkflowExecution\", \"failure\": {\"message\": \"no\", \"type\": \"E\"}}]",
	"[{\"type\": \"CancelWorkflowExecution\", \"details\": null}]",
	"[{\"type\": \"ContinueAsNewWorkflowExecution\", \"workflow_type\": \"T\", \"task_queue\": \"fz-idle\","
	" \"input\": [1], \"workflow_run_timeout\": 0, \"workflow_task_timeout\": 5, \"memo\": {},"
	" \"search_attributes\": {}}]",
	NULL,
};
static const char *const payload_seeds[] = {
	"{\"approved\": true, \"by\": \"ana\", \"n\": 3, \"tags\": [\"a\", \"b\"]}", "null", "\"text\"",
	"[1, 2.5, -3, {\"deep\": {\"er\": []}}]", NULL,
};
static const char *const failure_seeds[] = {
	"{\"message\": \"card declined\", \"type\": \"CardDeclined\", \"non_retryable\": false, \"details\": {\"code\": 51}}",
	"{\"message\": \"m\"}", NULL,
};
static const char *const schedule_seeds[] = {
	"{\"spec\": {\"cron\": [\"0 9 * * MON-FRI\", \"@daily\"], \"interval\": [{\"every\": 3600, \"offset\": 60}],"
	" \"start_at\": \"2026-01-01T00:00:00Z\", \"end_at\": \"2030-01-01T00:00:00Z\"},"
	" \"action\": {\"workflow_type\": \"T\", \"task_queue\": \"fz-idle\", \"input\": {\"p\": 1},"
	" \"workflow_id\": \"bill\", \"options\": {\"run_timeout\": 60}},"
	" \"policies\": {\"overlap_policy\": \"BUFFER_ONE\", \"catchup_window\": \"1 day\", \"paused\": true,"
	" \"note\": \"n\", \"remaining_actions\": 3}}",
	"{\"spec\": {\"cron\": [\"CRON_TZ=America/New_York 30 2 * * 0-7\", \"*/15 9-17 1,15 JAN-DEC SUN-SAT\"],"
	" \"timezone\": \"Europe/Berlin\"}, \"action\": {\"workflow_type\": \"T\", \"task_queue\": \"fz-idle\"},"
	" \"policies\": {\"overlap_policy\": \"ALLOW_ALL\", \"paused\": false}}",
	"{\"spec\": {\"interval\": [{\"every\": 1}]}, \"action\": {\"workflow_type\": \"T\","
	" \"task_queue\": \"fz-idle\"}, \"policies\": {\"overlap_policy\": \"BUFFER_ALL\", \"paused\": false}}",
	NULL,
};
static const char *const batch_wft_seeds[] = {
	"[{\"task_token\": \"@TOKEN@\", \"commands\": [{\"type\": \"StartTimer\", \"timer_id\": \"t\","
	" \"start_to_fire_timeout\": 60}]}, {\"task_token\": \"w1.1\", \"cause\": \"BAD\","
	" \"failure\": {\"message\": \"m\"}}]",
	NULL,
};
static const char *const batch_act_seeds[] = {
	"[{\"task_token\": \"@TOKEN@\", \"result\": {\"ok\": 1}}, {\"task_token\": \"a1.1\","
	" \"failure\": {\"message\": \"m\", \"type\": \"E\"}}, {\"task_token\": \"a2.1\", \"canceled\": null}]",
	NULL,
};
static const char *const cached_seeds[] = {
	"{\"00000000-0000-0000-0000-000000000000\": 3}", "{}", NULL,
};
static const char *const spec_seeds[] = {
	"{\"type\": \"FzType\", \"id\": \"@ID@\", \"task_queue\": \"fz-idle\", \"input\": {\"a\": [1, \"b\"]},"
	" \"options\": {\"execution_timeout\": 3600, \"task_timeout\": 10, \"id_reuse_policy\": \"ALLOW_DUPLICATE\","
	" \"memo\": {\"m\": 1}, \"search_attributes\": {\"S\": \"x\"}}}",
	NULL,
};
static const char *const ctl_seeds[] = {
	"cancel\n", "terminate enough\n", "reset 3 again\n", "cancel\nterminate two verbs\n", NULL,
};
static const char *const sctl_seeds[] = {
	"pause a note\n", "unpause\n", "trigger ALLOW_ALL\n",
	"backfill 2026-01-01T00:00:00Z 2026-01-01T02:00:00Z SKIP\n", "pause\nunpause\n", NULL,
};

static const struct target targets[] = {
	{ "sql.start_workflow", false, start_seeds, apply_sql,
	  "SELECT durable.start_workflow($2, 'FzType', 'fz-idle', d->'input', d->'options', '" NS "')"
	  " FROM (SELECT $1::jsonb d, $3) x", NULL },
	{ "sql.signal_with_start", false, start_seeds, apply_sql,
	  "SELECT durable.signal_with_start($2, 'FzType', 'fz-idle', 'go', d->'input', d->'input',"
	  " d->'options', '" NS "') FROM (SELECT $1::jsonb d, $3) x", NULL },
	{ "sql.commands", false, command_seeds, apply_sql,
	  "SELECT durable.complete_workflow_task($3, $1::jsonb, 'fuzz' || $2)", NULL },
	{ "sql.signal_workflow", false, payload_seeds, apply_sql,
	  "SELECT durable.signal_workflow($3, 'go', $1::jsonb, NULL, '" NS "', $2)", NULL },
	{ "sql.complete_workflow_tasks", false, batch_wft_seeds, apply_sql,
	  "SELECT coalesce(bool_and(outcome IN ('INVALID', 'LEASE_LOST')), false) AS refused,"
	  " string_agg(error, '; ') AS why FROM durable.complete_workflow_tasks($1::jsonb, $2 || $3)", NULL },
	{ "sql.fail_workflow_task", false, failure_seeds, apply_sql,
	  "SELECT durable.fail_workflow_task($3, 'UNHANDLED_COMMAND', $1::jsonb, $2)", NULL },
	{ "sql.poll_cached", false, cached_seeds, apply_sql,
	  "SELECT count(*), $2, $3 FROM durable.poll_workflow_tasks('fz-empty', 'fuzz', 1, $1::jsonb, '" NS "')", NULL },
	{ "sql.complete_activity_tasks", false, batch_act_seeds, apply_sql,
	  "SELECT coalesce(bool_and(outcome IN ('INVALID', 'LEASE_LOST')), false) AS refused,"
	  " string_agg(error, '; ') AS why FROM durable.complete_activity_tasks($1::jsonb, $2 || $3)", NULL },
	{ "sql.create_schedule", false, schedule_seeds, apply_sql,
	  "SELECT durable.create_schedule($2, d->'spec', d->'action', d->'policies', '" NS "')"
	  " FROM (SELECT $1::jsonb d, $3) x", NULL },
	{ "sql.complete_activity_task", false, payload_seeds, apply_sql,
	  "SELECT durable.complete_activity_task($3, $1::jsonb, $2)", NULL },
	{ "sql.fail_activity_task", false, failure_seeds, apply_sql,
	  "SELECT durable.fail_activity_task($3, $1::jsonb, $2)", NULL },
	{ "sql.heartbeat_activity_task", false, payload_seeds, apply_sql,
	  "SELECT durable.heartbeat_activity_task($3, $1::jsonb), $2", NULL },
	{ "fs.start", false, spec_seeds, apply_file, NULL, "start%.0s" },
	{ "fs.signal", false, payload_seeds, apply_file, NULL, "workflows/%s/signals/go" },
	{ "fs.ctl", true, ctl_seeds, apply_file, NULL, "workflows/%s/ctl" },
	{ "fs.sctl", true, sctl_seeds, apply_file, NULL, "schedules/%s/ctl" },
	{ "fs.query", false, payload_seeds, apply_file, NULL, "workflows/%s/queries/q" },
	{ "fs.task.result", false, payload_seeds, apply_file, NULL, "tasks/%s/result" },
	{ "fs.task.failure", false, failure_seeds, apply_file, NULL, "tasks/%s/failure" },
	{ "fs.task.heartbeat", false, payload_seeds, apply_file, NULL, "tasks/%s/heartbeat" },
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

/*
 * Targets whose accepted inputs set nothing on a timer (a heartbeat without
 * a heartbeat timeout, a signal to a workflow no worker serves, query
 * arguments, an empty poll): no need to settle after them.
 */
static bool quiet_when_accepted(const struct target *t)
{
	static const char *const quiet[] = {
		"sql.signal_workflow", "sql.poll_cached", "sql.heartbeat_activity_task",
		"fs.signal", "fs.query", "fs.task.heartbeat",
	};
	for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
		if (!strcmp(t->name, quiet[i]))
			return true;
	return false;
}

/* --- found inputs --- */

static void save_found(const char *kind, const char *target, const char *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s-%s-%ld", found_dir, kind, target, tally.inputs);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, data, len) < 0) {
			/* reported below anyway */
		}
		close(fd);
	}
	fprintf(stderr, "fuzz: %s on %s: input saved as %s\n", kind, target, path);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* only async-signal-safe calls here */
	static const char msg[] = "fuzz: STALL: an input did not finish in 120 s; saved in the found folder\n";
	char path[4096];
	size_t n = strlen(found_dir);
	if (n + 64 < sizeof path && cur_target) {
		memcpy(path, found_dir, n);
		memcpy(path + n, "/stall-", 7);
		size_t tl = strlen(cur_target);
		memcpy(path + n + 7, cur_target, tl < 40 ? tl : 40);
		path[n + 7 + (tl < 40 ? tl : 40)] = '\0';
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			if (write(fd, cur_data, cur_len) < 0) {
				/* nothing more to do in a handler */
			}
			close(fd);
		}
	}
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* idem */
	}
	_exit(3);
}

/* --- one input --- */

static void run_one(const struct target *t, const char *data, size_t len)
{
	char *before = fingerprint();
	if (!before)
		die("fingerprint");
	char why[512] = "";
	cur_target = t->name;
	cur_data = data;
	cur_len = len;
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(INPUT_ALARM);
	enum outcome o = t->apply(t, data, len, why);
	alarm(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tally.inputs++;
	const char *gone = dead();
	if (o == BROKEN || gone) {
		tally.crashes++;
		fprintf(stderr, "fuzz: CRASH after %s (%s): %s\n", t->name, why, gone ? gone : "broken");
		save_found("crash", t->name, data, len);
		free(before);
		exit(1); /* nothing after a crash is meaningful */
	}
	if (o == REFUSED) {
		tally.refused++;
		char *after = fingerprint();
		if (!after || strcmp(before, after) != 0) {
			tally.changed++;
			fprintf(stderr, "fuzz: REFUSED BUT CHANGED: %s (%s)\n  before %s\n  after  %s\n",
				t->name, why, before, after ? after : "?");
			save_found("changed", t->name, data, len);
			settle_and_make_victims();
		}
		free(after);
	} else {
		tally.accepted++;
		/* quiet again before the next refused input, unless this one cannot wake anything */
		if (!quiet_when_accepted(t))
			settle_and_make_victims();
	}
	free(before);
	/* slow is not wrong, but worth a line: where the time of a long run goes */
	clock_gettime(CLOCK_MONOTONIC, &t2);
	long apply_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	long after_ms = (t2.tv_sec - t1.tv_sec) * 1000 + (t2.tv_nsec - t1.tv_nsec) / 1000000;
	if (apply_ms + after_ms > 5000) {
		fprintf(stderr, "fuzz: slow: %s (%s): %ld ms, then %ld ms checking and settling\n",
			t->name, o == ACCEPTED ? "accepted" : why, apply_ms, after_ms);
		if (apply_ms + after_ms > 20000)
			save_found("slow", t->name, data, len); /* not a failure: to look at */
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The corpus: corpus/<target>/<file>, each replayed once before fuzzing. */
static void replay_corpus(const char *dir, const char *only)
{
	for (size_t i = 0; i < N_TARGETS; i++) {
		if (only && strcmp(only, targets[i].name) != 0)
			continue;
		char d[4096];
		snprintf(d, sizeof d, "%s/%s", dir, targets[i].name);
		struct dirent **names;
		int n = scandir(d, &names, NULL, by_name);
		for (int k = 0; k < n; k++) {
			if (names[k]->d_name[0] != '.') {
				char p[8192];
				size_t len;
				snprintf(p, sizeof p, "%s/%s", d, names[k]->d_name);
				char *data = slurp(p, &len);
				if (data) {
					run_one(&targets[i], data, len);
					tally.replayed++;
				}
				free(data);
			}
			free(names[k]);
		}
		if (n >= 0)
			free(names);
	}
}

/* The next input: a target and a mutation of one of its seeds, from rng alone. */
static char *next_input(struct rng *rng, size_t *ti, size_t *len)
{
	*ti = rng_below(rng, N_TARGETS);
	const struct target *t = &targets[*ti];
	size_t n_seeds = 0;
	while (t->seeds[n_seeds])
		n_seeds++;
	const char *base = t->seeds[rng_below(rng, n_seeds)];
	return t->text ? mutate_text(rng, base, strlen(base), len)
		       : mutate_json(rng, base, strlen(base), len);
}

/* --dry N: the first N inputs as "target length fnv1a", without a store. */
static int dry_run(long seed, long n)
{
	struct rng rng = { (uint64_t)seed };
	for (long i = 0; i < n; i++) {
		size_t ti, len;
		char *in = next_input(&rng, &ti, &len);
		uint64_t h = 14695981039346656037ULL;
		for (size_t k = 0; in && k < len; k++)
			h = (h ^ (unsigned char)in[k]) * 1099511628211ULL;
		printf("%s %zu %016llx\n", targets[ti].name, in ? len : 0, (unsigned long long)h);
		free(in);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long seed = 1, seconds = 60, max_inputs = -1, dry = 0;
	const char *corpus = NULL, *only = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed")) seed = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds")) seconds = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--mount")) mnt = argv[i + 1];
		else if (!strcmp(argv[i], "--daemon-pid")) daemon_pid = (pid_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--pglog")) pglog = argv[i + 1];
		else if (!strcmp(argv[i], "--corpus")) corpus = argv[i + 1];
		else if (!strcmp(argv[i], "--found")) found_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--max-inputs")) max_inputs = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
		else if (!strcmp(argv[i], "--dry")) dry = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes-only")) mutate_bytes_only = atoi(argv[i + 1]);
		else { fprintf(stderr, "fuzz: unknown option %s\n", argv[i]); return 2; }
	}
	if (dry > 0)
		return dry_run(seed, dry);
	if (!mnt || !pglog || !found_dir) {
		fprintf(stderr, "usage: fuzz --seed N --seconds S --mount DIR --daemon-pid PID"
				" --pglog FILE --corpus DIR --found DIR [--max-inputs N] [--only TARGET]\n");
		return 2;
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	db = PQconnectdb("application_name=fuzz");
	if (PQstatus(db) != CONNECTION_OK)
		die("connect");
	/* start reading the server log from here: earlier lines are not ours */
	FILE *f = fopen(pglog, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		pglog_off = ftell(f);
		fclose(f);
	}
	/* the fuzzer's own statements need no durability; this makes settling cheap */
	free(must("SET synchronous_commit = off", 0, NULL));
	build_fingerprint();
	canary_start();
	settle_and_make_victims();
	if (corpus)
		replay_corpus(corpus, only);

	struct rng rng = { (uint64_t)seed };
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	time_t last_tick = 0;
	long per_target[N_TARGETS] = { 0 };
	bool was_overdue = false;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= seconds || (max_inputs >= 0 && tally.inputs >= max_inputs))
			break;
		if (now.tv_sec != last_tick) {
			last_tick = now.tv_sec;
			bool overdue = !canary_tick();
			if (overdue && !was_overdue) {
				tally.stalls++;
				fprintf(stderr, "fuzz: STALL: a canary timer is overdue by more than " CANARY_OVERDUE "\n");
			}
			was_overdue = overdue;
		}
		size_t ti, len;
		char *in = next_input(&rng, &ti, &len);
		const struct target *t = &targets[ti];
		if (!in)
			continue;
		if (only && strcmp(only, t->name) != 0) {
			free(in);
			continue;
		}
		per_target[ti]++;
		run_one(t, in, len);
		free(in);
	}
	/* the canary must have moved, unless the run was too short to tell */
	canary_tick();
	if (seconds >= 10 && tally.canary_fired < 2 && max_inputs < 0) {
		tally.stalls++;
		fprintf(stderr, "fuzz: STALL: the canary's timers fired %ld times\n", tally.canary_fired);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("fuzz: seed %ld: %ld inputs (%ld from the corpus) in %ld s: %ld accepted, %ld refused;"
	       " crashes %ld, refused inputs that changed state %ld, stalls %ld, internal errors %ld;"
	       " parked by the timer worker %ld (of %ld deadlines fired); canary timers fired %ld;"
	       " distinct refusal reasons %d, %d of them durable's own%s\n",
	       seed, tally.inputs, tally.replayed, (long)(now.tv_sec - t0.tv_sec), tally.accepted,
	       tally.refused, tally.crashes, tally.changed, tally.stalls, tally.internal, tally.parked,
	       tally.deadlines, tally.canary_fired,
	       n_reasons, deep_reasons(), mutate_bytes_only ? " (bytes-only mutations)" : "");
	if (getenv("FUZZ_REASONS"))
		for (int i = 0; i < n_reasons; i++)
			printf("  reason: %s\n", reasons[i]);
	printf("fuzz: per target:");
	for (size_t i = 0; i < N_TARGETS; i++)
		printf(" %s=%ld", targets[i].name, per_target[i]);
	printf("\n");
	PQfinish(db);
	free(fingerprint_sql);
	for (int i = 0; i < n_reasons; i++)
		free(reasons[i]);
	return tally.crashes || tally.changed || tally.stalls || tally.internal || tally.parked ? 1 : 0;
}
