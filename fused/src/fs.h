/* Daemon-wide settings and the entry points each file of the daemon offers. */
#ifndef DURABLEFS_FS_H
#define DURABLEFS_FS_H

#include "db.h"
#include "jscan.h"
#include "kinds.h"
#include "nodes.h"
#include "util.h"

#include <stdbool.h>
#include <sys/stat.h>

struct fsconf {
	char *ns;		/* durable namespace */
	int query_timeout_ms;	/* how long a read of queries/<name> waits */
	char identity[128];	/* who we are to the store (pollers, signals) */
	struct fuse_session *se;
};
extern struct fsconf conf;

/* tree.c: what exists where */
int tree_lookup(const struct node *parent, const char *name, struct node *child,
		struct db_err *e);
int tree_stat(const struct node *n, struct stat *st, struct db_err *e);
struct child {
	const char *name;
	enum kind kind;
};
/* Fixed children of a folder kind, ended by a NULL name (maybe just that). */
const struct child *tree_children(enum kind k);
char *tree_folder_key(const struct node *n); /* last-error key of a file's folder */
char *tree_path(const struct node *n); /* "workflows/<id>/signals/<name>" ... */

/* content.c: what files say */
int content_render(const struct node *n, struct buf *out, struct db_err *e);
int content_query(const struct node *n, const char *args, struct buf *out, struct db_err *e);
int content_update(const struct node *n, const char *args, struct buf *out, struct db_err *e);
int workflow_exists(const char *wf, const char *run, struct db_err *e);
int schedule_exists(const char *id, struct db_err *e);
int workflow_field(const char *wf, const char *run, const char *field, struct buf *out,
		   struct db_err *e);
int activity_exists(const char *wf, const char *activity_id, struct db_err *e);
int activity_field(const char *wf, const char *activity_id, const char *file, struct buf *out,
		   struct db_err *e);
/* The column named `file` of call's one row, and a newline (nothing for NULL);
 * ENOENT when there is no such row or column. */
int render_column(const struct sql_call *call, const char *const *p, const char *file,
		  struct buf *out, struct db_err *e);

/* history.c: history as NDJSON with stable offsets and a truthful size */
int history_stat(const struct node *n, struct stat *st, struct db_err *e);
int history_read(const char *wf, const char *run, off_t off, size_t size, struct buf *out,
		 struct db_err *e);
void history_shutdown(void);

/* listing.c: folder listings, streamed page by page from the store */
struct listing;
struct listing *listing_open(const struct node *dir, struct db_err *e, int *err);
/* Entry number idx (0 and 1 are "." and ".."): returns 1 with its name and type, 0 past the end. */
int listing_get(struct listing *l, long idx, const char **name, mode_t *type,
		struct db_err *e);
void listing_close(struct listing *l);

/* lasterr.c: the last refused write of each folder */
void lasterr_set(const char *folder_key, const char *what, int err, const char *msg);
int lasterr_get(const char *folder_key, struct buf *out);
void lasterr_shutdown(void);

/* watch.c: LISTEN/NOTIFY, poll(2) and inode invalidation for status/history */
int watch_start(void);
void watch_stop(void);
void watch_kick(const char *wf); /* we changed wf ourselves: recheck it now */
struct watch;
struct watch *watch_open(const char *wf, const char *run);
void watch_close(struct watch *w);
/* Whether the watched run moved past *seen (events); registers ph if not. */
bool watch_poll(struct watch *w, uint64_t seen_gen, struct fuse_pollhandle *ph);
uint64_t watch_gen(struct watch *w);

/* writes.c: what writes do; returns 0 or -errno, *reply may get text */
int write_apply(const struct node *n, const char *data, size_t len, struct buf *reply,
		struct db_err *e);

/* docwrite.c: what an open file gathers from its writes (documents, ctl lines) */
struct docbuf {
	struct buf text;	/* not applied yet */
	struct jscan scan;
	bool started, applied;
	int refused;		/* errno: the document was refused; later writes get it too */
};
/* *applying: a document (or ctl lines) went to the store, so its outcome belongs in last-error. */
int doc_write(const struct node *n, struct docbuf *d, const char *data, size_t size,
	      bool *applying, struct buf *reply, struct db_err *e);
int doc_close(const struct node *n, struct docbuf *d, bool *applying, struct buf *reply,
	      struct db_err *e);
void doc_free(struct docbuf *d);
size_t doc_payload_limit(void);
size_t doc_held_bytes(void);

/* visibility.c: where/<filter>/ and batches/ */
int where_check(const char *filter, struct db_err *e);
int where_has(const char *filter, const char *wf, struct db_err *e);
int where_page(const char *filter, const char *after_run, int page, const char *last_name,
	       int (*add)(void *, const char *), void *arg, char **last_run, bool *more,
	       struct db_err *e);
int batch_exists(const char *id, struct db_err *e);
int batch_list(int (*add)(void *, const char *), void *arg, struct db_err *e);
int batch_render(const char *id, const char *file, struct buf *out, struct db_err *e);
int batch_start(const char *spec, struct buf *reply, struct db_err *e);
int batch_ctl(const char *id, char *text, struct db_err *e);
int sattr_render(struct buf *out, struct db_err *e);
int sattr_ctl(char *text, struct db_err *e);

/* lease.c: blocking read of task-queues/<name>/next */
int lease_next(fuse_req_t req, const char *queue, bool nonblock, struct buf *out,
	       struct db_err *e);

#endif
