/*
 * Who is calling. With -o allow_other every local user reaches the mount, so
 * each request is attributed to its caller (uid from the FUSE request), the
 * users file maps that uid to a database role, and the daemon acts as that
 * role for the request (SET ROLE on a pooled connection of its login role).
 * Unmapped callers are refused with EACCES. See docs/security.md.
 */
#ifndef DURABLEFS_CALLERS_H
#define DURABLEFS_CALLERS_H

#include "db.h"
#include "nodes.h"

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Loads the users file (users_file may be NULL: then every request acts as
 * the login role, as before 0.2) and checks each role it names against the
 * store. others_allowed: allow_other or allow_root was given, which needs a
 * users file. Returns 0, or -1 with the reason in e->msg.
 */
int callers_init(const char *users_file, bool others_allowed, struct db_err *e);
void callers_shutdown(void);

/* inner's operations, each run on behalf of (and refused to) its caller. */
const struct fuse_lowlevel_ops *callers_ops(const struct fuse_lowlevel_ops *inner);

/* Makes c act as the current thread's caller; 0, or -errno with e->msg set. */
int callers_bind(PGconn *c, struct db_err *e);
/* Whether c acts as the current caller already (the pool prefers it). */
bool callers_bound(PGconn *c);

/* Owner and modes of n as the current caller may use it (stat's truth);
 * st_mode holds the kind's own mode on entry. */
void callers_stat(const struct node *n, struct stat *st);

/*
 * rights.c: whether role ("" the login role) may read and write n, as far as
 * the store says (both true when it cannot say). Runs on a connection acting
 * as that role; answers are kept a few seconds.
 */
void rights_of(const struct node *n, const char *role, bool *may_read, bool *may_write);

/*
 * The identity the store records for what this request does: the daemon's,
 * and with a users file also the caller's uid, name and role.
 */
const char *callers_identity(void);

/* A key prefix that keeps one caller's last-error reasons from another. */
const char *callers_scope(void);

#endif
