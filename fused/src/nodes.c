/* The inode table: two chained hash tables, by key and by inode number. */
#define _POSIX_C_SOURCE 200809L
#include "nodes.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *by_key[NBUCKETS], *by_ino[NBUCKETS];
static fuse_ino_t next_ino = FUSE_ROOT_ID + 1;
static long n_nodes;

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

/* '/' cannot occur in a file name, so it separates the parts unambiguously. */
static char *make_key(enum kind kind, const char *wf, const char *run, const char *name)
{
	struct buf b = { 0 };
	if (buf_printf(&b, "%d/%s/%s/%s", (int)kind, wf ? wf : "", run ? run : "",
		       name ? name : ""))
		return NULL;
	return b.data;
}

static void copy_out(const struct node *n, struct node *copy)
{
	*copy = *n;
	copy->wf = xstrdup(n->wf);
	copy->run = xstrdup(n->run);
	copy->name = xstrdup(n->name);
	copy->key = NULL;
	copy->next_key = copy->next_ino = NULL;
}

void node_copy_free(struct node *copy)
{
	free(copy->wf);
	free(copy->run);
	free(copy->name);
	copy->wf = copy->run = copy->name = NULL;
}

static struct node *insert(enum kind kind, const char *wf, const char *run, const char *name,
			   char *key, fuse_ino_t ino)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->kind = kind;
	n->wf = xstrdup(wf);
	n->run = xstrdup(run);
	n->name = xstrdup(name);
	n->key = key;
	n->ino = ino;
	unsigned hk = hash(key), hi = (unsigned)(ino % NBUCKETS);
	n->next_key = by_key[hk];
	by_key[hk] = n;
	n->next_ino = by_ino[hi];
	by_ino[hi] = n;
	n_nodes++;
	return n;
}

void nodes_init(void)
{
	char *key = make_key(K_ROOT, NULL, NULL, NULL);
	struct node *root = insert(K_ROOT, NULL, NULL, NULL, key, FUSE_ROOT_ID);
	if (root)
		root->fixed = 1;
}

int nodes_lookup(enum kind kind, const char *wf, const char *run, const char *name,
		 struct node *copy)
{
	char *key = make_key(kind, wf, run, name);
	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	struct node *n;
	for (n = by_key[hash(key)]; n; n = n->next_key)
		if (strcmp(n->key, key) == 0)
			break;
	if (n) {
		free(key);
	} else {
		n = insert(kind, wf, run, name, key, next_ino++);
		if (!n) {
			pthread_mutex_unlock(&lock);
			free(key);
			return -ENOMEM;
		}
	}
	n->nlookup++;
	copy_out(n, copy);
	pthread_mutex_unlock(&lock);
	return 0;
}

int nodes_get(fuse_ino_t ino, struct node *copy)
{
	pthread_mutex_lock(&lock);
	struct node *n;
	for (n = by_ino[ino % NBUCKETS]; n; n = n->next_ino)
		if (n->ino == ino)
			break;
	if (n)
		copy_out(n, copy);
	pthread_mutex_unlock(&lock);
	return n ? 0 : -ENOENT;
}

static void unlink_node(struct node *n)
{
	struct node **p;
	for (p = &by_key[hash(n->key)]; *p != n; p = &(*p)->next_key)
		;
	*p = n->next_key;
	for (p = &by_ino[n->ino % NBUCKETS]; *p != n; p = &(*p)->next_ino)
		;
	*p = n->next_ino;
	n_nodes--;
	free(n->wf);
	free(n->run);
	free(n->name);
	free(n->key);
	free(n);
}

void nodes_forget(fuse_ino_t ino, uint64_t count)
{
	pthread_mutex_lock(&lock);
	struct node *n;
	for (n = by_ino[ino % NBUCKETS]; n; n = n->next_ino)
		if (n->ino == ino)
			break;
	if (n) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		if (n->nlookup == 0 && !n->fixed)
			unlink_node(n);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * O(table size); called only when the notification thread learns that a
 * watched workflow changed, which is rare next to lookups. An index by
 * workflow id would fix it if it ever shows up in a profile.
 */
void nodes_each(enum kind kind, const char *wf, void (*fn)(fuse_ino_t, void *), void *arg)
{
	fuse_ino_t found[64];
	int nfound = 0;
	pthread_mutex_lock(&lock);
	for (int b = 0; b < NBUCKETS && nfound < 64; b++)
		for (struct node *n = by_ino[b]; n && nfound < 64; n = n->next_ino)
			if (n->kind == kind && n->wf && strcmp(n->wf, wf) == 0)
				found[nfound++] = n->ino;
	pthread_mutex_unlock(&lock);
	/* outside the lock: fn talks to the kernel, which may call forget */
	for (int i = 0; i < nfound; i++)
		fn(found[i], arg);
}

long nodes_count(void)
{
	pthread_mutex_lock(&lock);
	long n = n_nodes;
	pthread_mutex_unlock(&lock);
	return n;
}
