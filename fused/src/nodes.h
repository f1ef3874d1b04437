/*
 * The inode table. Every file the kernel knows has a node: its kind and the
 * names it was reached by (workflow id, run id, signal name ...). Nodes are
 * found by inode number and by a key built from those names, so a second
 * lookup of the same path returns the same inode. Dynamic nodes live while
 * the kernel holds lookups on them (nlookup, decremented by forget).
 */
#ifndef DURABLEFS_NODES_H
#define DURABLEFS_NODES_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdint.h>

enum kind {
	K_ROOT = 1, K_README, K_START, K_METRICS, K_LASTERR,
	K_WORKFLOWS, K_WF, K_FIELD, K_HISTORY, K_SIGNALS, K_SIGNAL,
	K_QUERIES, K_QUERY, K_CTL, K_RUNS, K_RUN,
	K_BYSTATUS, K_STATUSDIR, K_STATUSLINK,
	K_QUEUES, K_QUEUE, K_QFILE, K_NEXT,
	K_TASKS, K_TASK, K_TASKFILE,
	K_SCHEDULES, K_SCHED, K_SFILE, K_SCTL, K_SDOC,
	K_UPDATES, K_UPDATE,
	K_ACTS, K_ACT, K_AFILE, K_AOPTS, K_ACTL,	/* workflows/<id>/activities/<activity id>/ */
	K_QLIMIT,	/* task-queues/<name>/<limit> */
	K_WHERE, K_WHEREDIR, K_WHERELINK,	/* where/<filter>/<id> (visibility.c) */
	K_BATCHES, K_BATCH, K_BFILE, K_BCTL, K_BSTART,	/* batches/ (visibility.c) */
	K_SATTRS,	/* search-attributes (visibility.c) */
	K_QBUILD,	/* task-queues/<name>/build-ids */
	K_QKEYS, K_QKEY, K_KLIMIT,	/* task-queues/<name>/keys/<fairness key>/<limit> */
	K_COUNT	/* not a kind: one past the last (kinds.c has a row for each before it) */
};

struct node {
	fuse_ino_t ino;
	enum kind kind;
	char *wf;	/* workflow id, task token, task queue or schedule id */
	char *run;	/* run id for runs/<run>/..., the activity id under
			 * activities/<id>/, the fairness key under keys/<key>/,
			 * else NULL (latest run) */
	char *name;	/* field, signal, query, status or file name; folder key for last-error */
	uint64_t nlookup;
	int fixed;	/* never freed (root, README, top folders) */
	char *key;
	struct node *next_key, *next_ino;
};

void nodes_init(void);
/* Finds or creates the node; returns it with a copy of its fields in *copy
 * (strings duplicated; free with node_copy_free) and nlookup incremented. */
int nodes_lookup(enum kind kind, const char *wf, const char *run, const char *name,
		 struct node *copy);
/* Copies node ino into *copy; -ENOENT if unknown. */
int nodes_get(fuse_ino_t ino, struct node *copy);
void nodes_forget(fuse_ino_t ino, uint64_t n);
void node_copy_free(struct node *copy);
/* Calls fn for every live node of this kind and workflow (for invalidation). */
void nodes_each(enum kind kind, const char *wf, void (*fn)(fuse_ino_t, void *), void *arg);
long nodes_count(void);

#endif
