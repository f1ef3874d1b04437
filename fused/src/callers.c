/*
 * Who is calling, and as which database role the daemon acts for them.
 *
 * The users file has one "USER ROLE" pair a line (# starts a comment):
 * USER is a login name, a numeric uid or "*" (anyone not listed); ROLE is a
 * database role, "=" (the role named like the user) or "-" (refused). The
 * login role must be a member of every mapped role: a request runs after
 * SET ROLE, so the store's privileges and grants see the caller's role.
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-events.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROLE_MAX 64		/* NAMEDATALEN */
#define MAX_USERS 1024
#define SEEN_MAX 256		/* callers remembered (name lookups, log rate) */
#define REFUSAL_LOG_EVERY 60	/* seconds between log lines per refused uid */

enum how { AS_ROLE, AS_SAME, AS_NOBODY };

struct entry {
	uid_t uid;
	bool any;		/* "*" */
	enum how how;
	char role[ROLE_MAX];
	int line;
};

/* A caller as the current request sees it. */
struct caller {
	uid_t uid;
	gid_t gid;
	bool mapped;
	char role[ROLE_MAX];	/* "" acts as the login role */
	char scope[32];		/* last-error key prefix */
	char identity[300];	/* who did it, for the events the request writes */
};

/* What we remember per uid: its role (or why not) and when we last logged. */
struct seen {
	uid_t uid;
	bool used, mapped;
	char role[ROLE_MAX];
	char name[64];
	char why[200];
	time_t logged;
};

static bool enforcing;
static char *users_path;
static struct entry users[MAX_USERS];
static int n_users;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[SEEN_MAX];
static int seen_next;

static _Thread_local struct caller current_slot;
static _Thread_local struct caller *current;

static int fail(struct db_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct db_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* "name", "1001" or "*" into *u; 0, or -1 with the reason. */
static int parse_user(const char *word, struct entry *u, int line, struct db_err *e)
{
	u->any = strcmp(word, "*") == 0;
	if (u->any)
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(word, &end, 10);
	if (*word && *end == '\0' && errno == 0 && v < (uid_t)-1) {
		u->uid = (uid_t)v;
		return 0;
	}
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwnam_r(word, &pw, buf, sizeof buf, &found) != 0 || !found)
		return fail(e, "users file %s, line %d: no local user named \"%s\"", users_path, line, word);
	u->uid = found->pw_uid;
	if (u->how == AS_SAME)
		snprintf(u->role, sizeof u->role, "%s", found->pw_name);
	return 0;
}

static int parse_line(char *text, int line, struct db_err *e)
{
	text[strcspn(text, "#\n")] = '\0';
	char *save = NULL;
	char *user = strtok_r(text, " \t\r", &save);
	if (!user)
		return 0;
	char *role = strtok_r(NULL, " \t\r", &save);
	if (!role || strtok_r(NULL, " \t\r", &save))
		return fail(e, "users file %s, line %d: want \"USER ROLE\"", users_path, line);
	if (n_users == MAX_USERS)
		return fail(e, "users file %s, line %d: more than %d users", users_path, line, MAX_USERS);
	struct entry *u = &users[n_users];
	memset(u, 0, sizeof *u);
	u->line = line;
	u->how = strcmp(role, "=") == 0 ? AS_SAME : strcmp(role, "-") == 0 ? AS_NOBODY : AS_ROLE;
	if (strlen(role) >= ROLE_MAX)
		return fail(e, "users file %s, line %d: role name \"%s\" is too long", users_path, line, role);
	if (u->how == AS_ROLE)
		snprintf(u->role, sizeof u->role, "%s", role);
	if (parse_user(user, u, line, e))
		return -1;
	n_users++;
	return 0;
}

/*
 * Like sshd's StrictModes: a users file that others may write would let
 * them map themselves to any role.
 */
static int check_owner(int fd, struct db_err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return fail(e, "users file %s: %s", users_path, strerror(errno));
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return fail(e, "users file %s: writable by others than root and the daemon's user;"
			       " chown it and chmod go-w", users_path);
	return 0;
}

static int load_users(struct db_err *e)
{
	int fd = open(users_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(e, "users file %s: %s", users_path, strerror(errno));
	FILE *f = check_owner(fd, e) == 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		close(fd);
		return -1;
	}
	char text[1024];
	int line = 0, rc = 0;
	while (rc == 0 && fgets(text, sizeof text, f))
		rc = parse_line(text, ++line, e);
	fclose(f);
	return rc;
}

/* Each named role exists and the login role may SET ROLE to it. */
static int check_roles(struct db_err *e)
{
	for (int i = 0; i < n_users; i++) {
		if (!users[i].role[0])
			continue; /* "-", or "=" resolved per caller */
		const char *p[] = { users[i].role };
		PGresult *r;
		if (db_query(&r, e, true, &sql_role_check, p) != 0)
			return -1;
		bool exists = db_true(r, 0, "role_exists"), member = db_true(r, 0, "member");
		char login[ROLE_MAX];
		snprintf(login, sizeof login, "%s", db_col(r, 0, "login"));
		PQclear(r);
		if (!exists)
			return fail(e, "users file %s, line %d: role \"%s\" does not exist", users_path,
				    users[i].line, users[i].role);
		if (!member)
			return fail(e, "users file %s, line %d: the login role %s is not a member of role \"%s\""
				    " (GRANT \"%s\" TO %s)", users_path, users[i].line, login, users[i].role,
				    users[i].role, login);
	}
	return 0;
}

int callers_init(const char *users_file, bool others_allowed, struct db_err *e)
{
	if (!users_file || !*users_file) {
		if (others_allowed) {
			snprintf(e->msg, sizeof e->msg,
				 "allow_other (or allow_root) lets other local users in, and durablefs would"
				 " act for all of them as its own database role: give -o users=FILE to map"
				 " each user to a role (see docs/security.md)");
			return -1;
		}
		return 0;
	}
	users_path = strdup(users_file);
	if (!users_path)
		return fail(e, "out of memory");
	if (load_users(e) || check_roles(e))
		return -1;
	enforcing = true;
	logmsg("acting for each caller as the role %s maps it to (%d entries)", users_path, n_users);
	return 0;
}

void callers_shutdown(void)
{
	free(users_path);
	users_path = NULL;
	n_users = 0;
}

/* The users file's answer for uid, remembered; lock held. */
static struct seen *resolve(uid_t uid)
{
	for (int i = 0; i < SEEN_MAX; i++)
		if (seen[i].used && seen[i].uid == uid)
			return &seen[i];
	struct seen *s = &seen[seen_next];
	seen_next = (seen_next + 1) % SEEN_MAX;
	memset(s, 0, sizeof *s);
	s->used = true;
	s->uid = uid;
	const struct entry *hit = NULL;
	for (int i = 0; i < n_users && !hit; i++)
		if (!users[i].any && users[i].uid == uid)
			hit = &users[i];
	for (int i = 0; i < n_users && !hit; i++)
		if (users[i].any)
			hit = &users[i];
	struct passwd pw, *found = NULL;
	char buf[4096], name[64];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
		snprintf(name, sizeof name, "%s", found->pw_name);
	else
		snprintf(name, sizeof name, "no name");
	snprintf(s->name, sizeof s->name, "%s", name);
	if (!hit) {
		snprintf(s->why, sizeof s->why, "uid %u (%s) is not in the users file %s",
			 (unsigned)uid, name, users_path);
	} else if (hit->how == AS_NOBODY) {
		snprintf(s->why, sizeof s->why, "uid %u (%s) is refused by line %d of %s",
			 (unsigned)uid, name, hit->line, users_path);
	} else if (hit->how == AS_SAME && !found) {
		snprintf(s->why, sizeof s->why, "uid %u has no user name to use as its role (line %d of %s)",
			 (unsigned)uid, hit->line, users_path);
	} else {
		s->mapped = true;
		snprintf(s->role, sizeof s->role, "%s", hit->how == AS_SAME ? name : hit->role);
	}
	return s;
}

/* Attributes the request to its caller; false if the caller is unmapped. */
static bool attribute(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct caller *c = &current_slot;
	memset(c, 0, sizeof *c);
	c->uid = ctx->uid;
	c->gid = ctx->gid;
	current = c;
	if (!enforcing) {
		c->mapped = true;
		snprintf(c->identity, sizeof c->identity, "%s", conf.identity);
		return true;
	}
	snprintf(c->scope, sizeof c->scope, "u%u:", (unsigned)c->uid);
	pthread_mutex_lock(&lock);
	struct seen *s = resolve(c->uid);
	c->mapped = s->mapped;
	snprintf(c->role, sizeof c->role, "%s", s->role);
	snprintf(c->identity, sizeof c->identity, "%s for uid %u (%s) as %s", conf.identity,
		 (unsigned)c->uid, s->name, s->role);
	time_t now = time(NULL);
	bool tell = !s->mapped && now - s->logged >= REFUSAL_LOG_EVERY;
	char why[sizeof s->why];
	if (tell) {
		s->logged = now;
		memcpy(why, s->why, sizeof why);
	}
	pthread_mutex_unlock(&lock);
	/* in the caller's own root last-error, which it may read */
	if (tell)
		lasterr_set("/", "access", EACCES, why);
	return c->mapped;
}

const char *callers_scope(void)
{
	return current ? current->scope : "";
}

const char *callers_identity(void)
{
	return current && current->identity[0] ? current->identity : conf.identity;
}

/* What an unmapped caller may still see: the root, README and its last-error. */
static bool open_to_all(fuse_ino_t ino, const char *name)
{
	if (name)
		return ino == FUSE_ROOT_ID && (!strcmp(name, "README") || !strcmp(name, "last-error"));
	if (ino == FUSE_ROOT_ID)
		return true;
	struct node n;
	if (nodes_get(ino, &n))
		return false;
	bool ok = n.kind == K_README || (n.kind == K_LASTERR && n.name && !strcmp(n.name, "/"));
	node_copy_free(&n);
	return ok;
}

/* --- the role a connection acts as, kept on the PGconn itself --- */

static int conn_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNDESTROY || id == PGEVT_CONNRESET) {
		PGconn *c = id == PGEVT_CONNDESTROY ? ((PGEventConnDestroy *)info)->conn
						    : ((PGEventConnReset *)info)->conn;
		free(PQinstanceData(c, conn_event));
		PQsetInstanceData(c, conn_event, NULL); /* a reset session is the login role again */
	}
	return 1;
}

static const char *conn_role(PGconn *c)
{
	const char *r = PQinstanceData(c, conn_event);
	return r ? r : "";
}

static const char *wanted_role(void)
{
	return current ? current->role : "";
}

bool callers_bound(PGconn *c)
{
	return strcmp(conn_role(c), wanted_role()) == 0;
}

int callers_bind(PGconn *c, struct db_err *e)
{
	if (current && !current->mapped) {
		/* defence in depth: the wrappers refuse these before any query */
		snprintf(e->msg, sizeof e->msg, "uid %u has no database role", (unsigned)current->uid);
		return -EACCES;
	}
	const char *want = wanted_role();
	if (strcmp(conn_role(c), want) == 0)
		return 0;
	char *tag = strdup(want);
	if (!tag)
		return -ENOMEM;
	const char *p[] = { *want ? want : "none" };
	PGresult *r;
	int rc = db_exec(c, &r, e, &sql_act_as_role, p);
	if (rc) {
		free(tag);
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e->msg);
		snprintf(e->msg, sizeof e->msg, "cannot act as role \"%.63s\": %.400s", want, why);
		return -EACCES; /* the caller closes c: its role is unknown now */
	}
	PQclear(r);
	if (!PQinstanceData(c, conn_event) &&
	    !PQregisterEventProc(c, conn_event, "durablefs-role", NULL)) {
		free(tag);
		return -ENOMEM;
	}
	free(PQinstanceData(c, conn_event));
	PQsetInstanceData(c, conn_event, tag);
	return 0;
}

void callers_stat(const struct node *n, struct stat *st)
{
	if (enforcing && current) {
		st->st_uid = current->uid;
		st->st_gid = current->gid;
	}
	if (S_ISLNK(st->st_mode))
		return; /* a link's mode is never checked: its target's is */
	mode_t perm = st->st_mode & 07777;
	if (enforcing)
		perm &= 0700; /* the caller owns what it sees, and nobody else reads this stat */
	bool may_read = true, may_write = true;
	if (current && !current->mapped)
		may_read = may_write = open_to_all(n->ino, NULL);
	else
		rights_of(n, wanted_role(), &may_read, &may_write);
	if (!may_read)
		perm &= ~(mode_t)0555;
	if (!may_write)
		perm &= ~(mode_t)0222;
	st->st_mode = (st->st_mode & ~(mode_t)07777) | perm;
}

/* --- the operations, each attributed to its caller --- */

static const struct fuse_lowlevel_ops *inner;
static struct fuse_lowlevel_ops outer;

/* Attributes req; false after replying EACCES to an unmapped caller. */
static bool enter(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (attribute(req) || open_to_all(ino, name))
		return true;
	fuse_reply_err(req, EACCES);
	current = NULL;
	return false;
}

#define WRAP(op, params, ino, name, args)                \
	static void w_##op params                        \
	{                                                \
		if (enter(req, ino, name))               \
			inner->op args;                  \
		current = NULL;                          \
	}

WRAP(lookup, (fuse_req_t req, fuse_ino_t parent, const char *name), parent, name,
     (req, parent, name))
WRAP(getattr, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), ino, NULL,
     (req, ino, fi))
WRAP(setattr, (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	       struct fuse_file_info *fi), ino, NULL, (req, ino, attr, to_set, fi))
WRAP(readlink, (fuse_req_t req, fuse_ino_t ino), ino, NULL, (req, ino))
WRAP(opendir, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), ino, NULL,
     (req, ino, fi))
WRAP(readdir, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi), ino, NULL, (req, ino, size, off, fi))
WRAP(open, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), ino, NULL,
     (req, ino, fi))
WRAP(read, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	    struct fuse_file_info *fi), ino, NULL, (req, ino, size, off, fi))
WRAP(write, (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi), ino, NULL, (req, ino, buf, size, off, fi))
/* flush may apply a pending write: as whoever closes, never as the login role */
WRAP(flush, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), ino, NULL,
     (req, ino, fi))

static void w_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph)
{
	if (enter(req, ino, NULL))
		inner->poll(req, ino, fi, ph);
	else if (ph)
		fuse_pollhandle_destroy(ph);
	current = NULL;
}

const struct fuse_lowlevel_ops *callers_ops(const struct fuse_lowlevel_ops *ops)
{
	inner = ops;
	outer = *ops;
#define USE(op) if (ops->op) outer.op = w_##op
	USE(lookup); USE(getattr); USE(setattr); USE(readlink); USE(opendir); USE(readdir);
	USE(open); USE(read); USE(write); USE(flush); USE(poll);
#undef USE
	return &outer;
}
