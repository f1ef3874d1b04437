/*
 * jansson's small blocks kept for reuse by the thread that runs a worker's
 * loop. A workflow task reads its new events into a few hundred jansson
 * values (an object is three blocks and a block per key, a string two, an
 * integer one) and a run's close frees its whole history: glibc keeps only
 * seven freed blocks of a size in its per-thread cache, and the rest go
 * through its bins, which are consolidated at every request of 1 KB or
 * more (a PGresult's block, a text buffer). malloc and free were 30% of the
 * worker's instructions.
 *
 * A kept block is a malloc block: jansson's free and the host's free()
 * (json_dumps's text, which the caller frees) both take any of them, so
 * blocks may cross between this and malloc either way, and another thread
 * (an activity's) allocates and frees with malloc. Blocks are sorted by
 * what malloc_usable_size says they hold, in classes of 16 bytes, up to
 * durable__json_pool_max bytes in all (the pool holds what a burst's
 * histories freed, as glibc's bins would). Under AddressSanitizer a kept block is
 * poisoned, so that a use after jansson freed it is still reported.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include "json_text.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* class k holds blocks of at least 16k + 24 usable bytes: glibc's sizes
 * (24, 40, 56...), whose smallest block holds 24 (a class under it would
 * never be given a block back, and its requests would fill the next class
 * until the pool is full); a request of n bytes takes class CLASS_OF(n),
 * whose blocks all hold n; larger requests go to malloc */
#define CLASSES 33
#define CLASS_BYTES(k) ((size_t)(k) * 16 + 24)
#define CLASS_OF(n) ((n) <= 24 ? 0 : ((n) - 24 + 15) / 16)
size_t durable__json_pool_max = DURABLE__JSON_POOL_MAX;

typedef struct kept {
	struct kept *next;
} kept_t;

struct durable__json_pool {
	kept_t *free[CLASSES];
	size_t bytes[CLASSES];   /* held in each class */
	size_t total;
};

/* The pool of this thread, or NULL: plain malloc and free. */
static _Thread_local durable__json_pool_t *pool;

static void *pool_malloc(size_t n)
{
	durable__json_pool_t *p = pool;
	size_t k = CLASS_OF(n);
	if (!p || k >= CLASSES)
		return malloc(n);
	kept_t *b = p->free[k];
	if (!b)
		return malloc(CLASS_BYTES(k));
	/* the size is the allocator's (its metadata, not the poisoned block) */
	size_t usable = malloc_usable_size(b);
	UNPOISON(b, usable);
	p->free[k] = b->next;
	p->bytes[k] -= usable;
	p->total -= usable;
	return b;
}

static void pool_free(void *ptr)
{
	durable__json_pool_t *p = pool;
	if (!ptr)
		return;
	size_t usable = p ? malloc_usable_size(ptr) : 0;
	size_t k = usable < CLASS_BYTES(0) ? CLASSES : (usable - 24) / 16;
	if (k >= CLASSES || p->total + usable > durable__json_pool_max) {
		free(ptr);
		return;
	}
	kept_t *b = ptr;
	b->next = p->free[k];
	p->free[k] = b;
	p->bytes[k] += usable;
	p->total += usable;
	POISON(b, usable);
}

static int installed;

static void install(void)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	/* a host that gave jansson an allocator of its own keeps it */
	if (m == malloc && f == free) {
		json_set_alloc_funcs(pool_malloc, pool_free);
		installed = 1;
	}
}

durable__json_pool_t *durable__json_pool_begin(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
	if (!installed || pool)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	return pool;
}

void durable__json_pool_end(durable__json_pool_t *p)
{
	if (!p || p != pool)
		return;
	pool = NULL;
	for (int k = 0; k < CLASSES; k++)
		while (p->free[k]) {
			kept_t *b = p->free[k];
			UNPOISON(b, malloc_usable_size(b));
			p->free[k] = b->next;
			free(b);
		}
	free(p);
}

size_t durable__json_pool_kept(const durable__json_pool_t *p, size_t size)
{
	size_t k = CLASS_OF(size);
	return p && k < CLASSES ? p->bytes[k] : 0;
}
