/* The FUSE low-level operations: glue between the kernel and the tree. */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per open file. Content is rendered per read at offset 0, like seq_file. */
struct fh {
	struct node n;
	struct buf content;
	bool have;		/* content holds the answer (query, next) */
	struct buf reply;	/* what a write answered (start, tasks) */
	size_t reply_pos;	/* how much of it was read: file offsets count the write too */
	struct docbuf doc;	/* what the writes gathered, not applied yet */
	struct watch *w;
	uint64_t seen;		/* watch generation the reader has seen */
	struct listing *list;
	struct fh *prev, *next;	/* in open_handles */
};

/* Every handle not yet released. Files still open when the mount goes away
 * (a lazy unmount, a daemon stopped by a signal) never get their release:
 * ops_close_all frees them at exit instead of leaking them. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh *open_handles;

static struct fh *fh_of(struct fuse_file_info *fi)
{
	return (struct fh *)(uintptr_t)fi->fh;
}

static void fh_free(struct fh *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&open_lock);
	if (f->prev)
		f->prev->next = f->next;
	else if (open_handles == f)
		open_handles = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&open_lock);
	watch_close(f->w);
	listing_close(f->list);
	node_copy_free(&f->n);
	buf_free(&f->content);
	buf_free(&f->reply);
	doc_free(&f->doc);
	free(f);
}

static void reply_errno(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

/*
 * Fails a lookup, getattr or readdir. EIO and ETIMEDOUT mean the server is
 * out of reach (no primary during a failover, a dead host): the log says
 * why, since ls and cat only show the errno. ENOENT and the like are the
 * answer, not trouble, and are not logged.
 */
static void reply_failed(fuse_req_t req, const char *op, const char *name, int rc, const struct db_err *e)
{
	int err = rc < 0 ? -rc : rc;
	if (err == EIO || err == ETIMEDOUT)
		logmsg("%s %s: %s: %s", op, name ? name : "", strerror(err), e->msg[0] ? e->msg : "no reason given");
	fuse_reply_err(req, err);
}

/* Remembers why an operation on n failed, in its folder's last-error. */
static void record(const struct node *n, const char *what, int rc, const struct db_err *e)
{
	char *key = tree_folder_key(n);
	char *path = tree_path(n);
	char label[600];
	snprintf(label, sizeof label, "%s %s", what, path ? path : "?");
	lasterr_set(key ? key : "/", label, -rc, e->msg[0] ? e->msg : strerror(-rc));
	free(path);
	free(key);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* without atomic O_TRUNC the kernel truncates first: we accept that as a no-op */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node p, child;
	struct db_err e = { "" };
	if (nodes_get(parent, &p)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int rc = tree_lookup(&p, name, &child, &e);
	node_copy_free(&p);
	if (rc) {
		reply_failed(req, "lookup", name, rc, &e);
		return;
	}
	struct fuse_entry_param ep = { 0 };
	ep.ino = child.ino;
	rc = tree_stat(&child, &ep.attr, &e);
	if (rc) {
		nodes_forget(child.ino, 1);
		node_copy_free(&child);
		reply_failed(req, "lookup", name, rc, &e);
		return;
	}
	/* timeouts 0: the store changes underneath us at any time */
	ep.attr_timeout = 0;
	ep.entry_timeout = 0;
	node_copy_free(&child);
	if (fuse_reply_entry(req, &ep) == -ENOENT)
		nodes_forget(ep.ino, 1); /* the request was interrupted */
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		nodes_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct node n;
	struct db_err e = { "" };
	struct stat st;
	if (nodes_get(ino, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int rc = tree_stat(&n, &st, &e);
	if (rc)
		reply_failed(req, "getattr", n.name, rc, &e);
	else
		fuse_reply_attr(req, &st, 0);
	node_copy_free(&n);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct node n;
	struct db_err e = { "" };
	if (nodes_get(ino, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int rc = 0;
	if (!kind_writable(n.kind))
		rc = -EACCES;
	else if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != 0)
		rc = -EINVAL; /* only `echo >` style truncation to 0 is meaningful */
	else if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		rc = -EPERM;
	/* truncate to 0 and time changes are accepted and change nothing */
	struct stat st;
	if (rc == 0)
		rc = tree_stat(&n, &st, &e);
	node_copy_free(&n);
	if (rc)
		reply_errno(req, rc);
	else
		fuse_reply_attr(req, &st, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node n;
	if (nodes_get(ino, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n.kind != K_STATUSLINK && n.kind != K_WHERELINK) {
		node_copy_free(&n);
		fuse_reply_err(req, EINVAL);
		return;
	}
	struct buf b = { 0 };
	buf_printf(&b, "../../workflows/%s", n.wf);
	node_copy_free(&n);
	fuse_reply_readlink(req, b.data ? b.data : "");
	buf_free(&b);
}

/* A file handle for ino, or NULL after replying ENOMEM or ENOENT. */
static struct fh *fh_open(fuse_req_t req, fuse_ino_t ino)
{
	struct fh *f = calloc(1, sizeof *f);
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	if (nodes_get(ino, &f->n)) {
		free(f);
		fuse_reply_err(req, ENOENT);
		return NULL;
	}
	pthread_mutex_lock(&open_lock);
	f->next = open_handles;
	if (open_handles)
		open_handles->prev = f;
	open_handles = f;
	pthread_mutex_unlock(&open_lock);
	return f;
}

void ops_close_all(void)
{
	pthread_mutex_lock(&open_lock);
	struct fh *f = open_handles;
	pthread_mutex_unlock(&open_lock);
	while (f) {
		fh_free(f);
		pthread_mutex_lock(&open_lock);
		f = open_handles;
		pthread_mutex_unlock(&open_lock);
	}
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *f = fh_open(req, ino);
	if (!f)
		return;
	if (!kind_is_dir(f->n.kind)) {
		fh_free(f);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = (uintptr_t)f;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_free(f); /* interrupted: releasedir will not come */
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct fh *f = fh_of(fi);
	struct db_err e = { "" };
	int rc = 0;
	/* listed at the first readdir (and again after rewinddir), not at open */
	if (off == 0 || !f->list) {
		listing_close(f->list);
		f->list = listing_open(&f->n, &e, &rc);
		if (!f->list) {
			reply_failed(req, "readdir", f->n.name, rc, &e);
			return;
		}
	}
	char *out = malloc(size);
	if (!out) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (long idx = off;; idx++) {
		const char *name;
		struct stat st = { 0 };
		rc = listing_get(f->list, idx, &name, &st.st_mode, &e);
		if (rc <= 0)
			break;
		st.st_ino = (ino_t)(idx + 0x100000000LL); /* placeholder; lookup gives the real one */
		size_t need = fuse_add_direntry(req, out + used, size - used, name, &st, idx + 1);
		if (need > size - used)
			break;
		used += need;
	}
	if (rc < 0 && used == 0)
		reply_failed(req, "readdir", f->n.name, rc, &e);
	else
		fuse_reply_buf(req, out, used);
	free(out);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fh_free(fh_of(fi));
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *f = fh_open(req, ino);
	if (!f)
		return;
	int acc = fi->flags & O_ACCMODE;
	enum kind k = f->n.kind;
	int rc = 0;
	if (kind_is_dir(k))
		rc = EISDIR;
	else if (acc != O_RDONLY && !kind_writable(k))
		rc = EACCES;
	else if (acc != O_WRONLY && kind_write_only(k))
		rc = EACCES; /* verbs: nothing to read */
	if (rc) {
		fh_free(f);
		fuse_reply_err(req, rc);
		return;
	}
	/* nothing here has a stable size worth caching: always go to the daemon */
	fi->direct_io = 1;
	if (k == K_NEXT || k == K_QUERY || k == K_UPDATE)
		fi->nonseekable = 1;
	if (k == K_HISTORY || (k == K_FIELD && strcmp(f->n.name, "status") == 0)) {
		f->w = watch_open(f->n.wf, f->n.run);
		f->seen = f->w ? watch_gen(f->w) : 0;
	}
	fi->fh = (uintptr_t)f;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_free(f); /* interrupted: release will not come */
}

/*
 * Replies with a copy: once the kernel has the data, the reader may close
 * and release may free the handle on another thread while this one is still
 * returning from writev.
 */
static void reply_slice(fuse_req_t req, const struct buf *b, off_t off, size_t size)
{
	if ((size_t)off >= b->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = b->len - (size_t)off < size ? b->len - (size_t)off : size;
	char *copy = malloc(n);
	if (!copy) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(copy, b->data + off, n);
	fuse_reply_buf(req, copy, n);
	free(copy);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fh *f = fh_of(fi);
	struct db_err e = { "" };
	int rc = 0;
	if (f->w)
		f->seen = watch_gen(f->w); /* before reading: a later change re-arms poll */
	switch (f->n.kind) {
	case K_HISTORY: {
		struct buf b = { 0 };
		rc = history_read(f->n.wf, f->n.run, off, size, &b, &e);
		if (rc == 0)
			fuse_reply_buf(req, b.data, b.len);
		buf_free(&b);
		break;
	}
	case K_QUERY: case K_UPDATE:
		/* arguments written on this descriptor (if any) go with the query or update */
		if (!f->have && f->doc.text.len) {
			/* reading ends the arguments: unfinished ones are refused here */
			bool applying;
			rc = doc_close(&f->n, &f->doc, &applying, &f->reply, &e);
		}
		if (!f->have && rc == 0) {
			const char *args = f->reply.len ? f->reply.data : NULL;
			rc = f->n.kind == K_QUERY ? content_query(&f->n, args, &f->content, &e)
						  : content_update(&f->n, args, &f->content, &e);
			f->have = rc == 0;
			f->reply_pos = 0;
		}
		if (rc == 0) {
			/* our own position: after a write, the file offset counts the arguments */
			size_t pos = f->reply_pos;
			f->reply_pos += f->content.len - pos < size ? f->content.len - pos : size;
			reply_slice(req, &f->content, (off_t)pos, size);
		}
		break;
	case K_NEXT:
		if (!f->have) {
			rc = lease_next(req, f->n.wf, fi->flags & O_NONBLOCK, &f->content, &e);
			f->have = rc == 0;
		}
		if (rc == 0)
			reply_slice(req, &f->content, off, size);
		break;
	case K_START: case K_TASKFILE: case K_BSTART:
		/* Plan 9's ctl style: after a write, reading the same descriptor gives the answer */
	{
		size_t pos = f->reply_pos;
		f->reply_pos += f->reply.len - pos < size ? f->reply.len - pos : size;
		reply_slice(req, &f->reply, (off_t)pos, size); /* f may be gone after this */
		break;
	}
	default:
		if (off == 0 || !f->have) {
			buf_reset(&f->content);
			rc = content_render(&f->n, &f->content, &e);
			f->have = rc == 0;
		}
		if (rc == 0)
			reply_slice(req, &f->content, off, size);
		break;
	}
	if (rc) {
		if (rc != -EAGAIN && rc != -EINTR && (f->n.kind == K_QUERY || f->n.kind == K_UPDATE || f->n.kind == K_NEXT))
			record(&f->n, "read", rc, &e);
		else if (rc != -EAGAIN && rc != -EINTR)
			logmsg("read %s/%s: %s", f->n.wf ? f->n.wf : "", f->n.name ? f->n.name : "",
			       e.msg[0] ? e.msg : strerror(-rc));
		reply_errno(req, rc);
	}
}

/*
 * Writes gather a document (or ctl lines) in f->doc: any writer may split it
 * at any byte. It is applied by the write that completes it, or at close.
 */
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)off; /* a stream: the document is what was written, in order */
	struct fh *f = fh_of(fi);
	struct db_err e = { "" };
	bool applying;
	int rc = doc_write(&f->n, &f->doc, data, size, &applying, &f->reply, &e);
	if (applying) {
		f->reply_pos = 0;
		f->have = false; /* a query asked again with new arguments */
	}
	if (rc) {
		record(&f->n, "write", rc, &e);
		reply_errno(req, rc);
	} else {
		fuse_reply_write(req, size);
	}
}

/* close(2): a document still unfinished is applied now, or refused (EINVAL). */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct fh *f = fh_of(fi);
	struct db_err e = { "" };
	bool applying;
	int rc = doc_close(&f->n, &f->doc, &applying, &f->reply, &e);
	if (applying) {
		f->reply_pos = 0;
		f->have = false;
	}
	if (rc)
		record(&f->n, "close", rc, &e);
	reply_errno(req, rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fh_free(fh_of(fi));
	fuse_reply_err(req, 0);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	(void)ino;
	struct fh *f = fh_of(fi);
	/*
	 * status and history: readable when they changed since this file
	 * handle last read (like cgroup.events). Everything else is always
	 * ready, as regular files are.
	 */
	if (!f->w) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM);
		return;
	}
	bool changed = watch_poll(f->w, f->seen, ph);
	fuse_reply_poll(req, changed ? POLLIN | POLLRDNORM | POLLPRI : 0);
}

const struct fuse_lowlevel_ops durablefs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.poll = op_poll,
};
