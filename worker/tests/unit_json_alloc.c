/* json_alloc.c: jansson's small blocks kept for reuse by the worker's loop
 * thread. A freed value's blocks are kept and given back to the next of
 * their size; a block from it is a malloc block (free() takes json_dumps's
 * text); large blocks, other threads and a full pool go to malloc and free;
 * end frees what is kept (valgrind: nothing lost). */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "json_text.h"
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

static durable__json_pool_t *pool;

/* jansson's integer is one block of a size this test does not know: the
 * class is found from the block itself */
static size_t kept_like(json_t *v)
{
	return durable__json_pool_kept(pool, malloc_usable_size(v));
}

static void *other_thread(void *arg)
{
	(void)arg;
	/* no pool here: a value made and freed leaves the loop thread's alone */
	json_t *v = json_integer(7);
	size_t usable = malloc_usable_size(v), before = durable__json_pool_kept(pool, usable);
	json_decref(v);
	return (void *)(uintptr_t)(durable__json_pool_kept(pool, usable) == before);
}

int main(void)
{
	pool = durable__json_pool_begin();
	CHECK(pool != NULL, "the thread's pool");
	CHECK(durable__json_pool_begin() == NULL, "one pool a thread: a second begin changes nothing");

	json_t *a = json_integer(1);
	size_t usable = malloc_usable_size(a);
	CHECK(kept_like(a) == 0, "nothing kept before a free");
	json_decref(a);
	CHECK(durable__json_pool_kept(pool, usable) == usable, "a freed integer's block is kept");
#if defined(__SANITIZE_ADDRESS__)
	CHECK(__asan_address_is_poisoned(a), "and poisoned: a use after jansson freed it is reported");
#endif
	json_t *b = json_integer(2);
	CHECK(b == a, "the next integer takes it");
	CHECK(json_integer_value(b) == 2 && durable__json_pool_kept(pool, usable) == 0, "whole, and no longer kept");
	json_decref(b);

	/* a tree's blocks, all kept, and taken again by the same tree */
	json_t *t = json_pack("{s:s, s:[i, i], s:{s:b}}", "k", "some text", "a", 1, 2, "o", "x", 1);
	char *text = json_dumps(t, JSON_COMPACT);
	CHECK(text && strcmp(text, "{\"k\":\"some text\",\"a\":[1,2],\"o\":{\"x\":true}}") == 0, "a tree: %s", text);
	free(text);   /* jansson's docs: the caller frees json_dumps's text with free() */
	json_decref(t);
	t = json_pack("{s:s, s:[i, i], s:{s:b}}", "k", "some text", "a", 1, 2, "o", "x", 1);
	text = json_dumps(t, JSON_COMPACT);
	CHECK(text && strcmp(text, "{\"k\":\"some text\",\"a\":[1,2],\"o\":{\"x\":true}}") == 0, "again: %s", text);
	free(text);
	json_decref(t);

	/* a large string's copy is not kept */
	char big[2000];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_t *bs = json_string(big);
	size_t big_usable = malloc_usable_size((void *)json_string_value(bs));
	json_decref(bs);
	CHECK(durable__json_pool_kept(pool, big_usable) == 0, "a block of %zu bytes goes back to free()", big_usable);

	/* another thread: plain malloc and free */
	pthread_t th;
	void *same = NULL;
	CHECK(pthread_create(&th, NULL, other_thread, NULL) == 0 && pthread_join(th, &same) == 0 && same,
	      "another thread's values leave the pool alone");

	/* a full pool frees */
	size_t max = durable__json_pool_max;
	durable__json_pool_max = 0;
	json_t *c = json_integer(3);
	size_t c_usable = malloc_usable_size(c), kept = durable__json_pool_kept(pool, c_usable);
	json_decref(c);
	CHECK(durable__json_pool_kept(pool, c_usable) == kept, "a full pool keeps no more");
	durable__json_pool_max = max;

	json_t *keep = json_integer(4);   /* lives past the pool's end */
	durable__json_pool_end(pool);
	CHECK(json_integer_value(keep) == 4, "a value from the pool outlives it");
	json_decref(keep);   /* and is freed with free() */
	pool = NULL;
	pool = durable__json_pool_begin();
	CHECK(pool != NULL, "a pool again after end");
	json_decref(json_integer(5));
	durable__json_pool_end(pool);
	return CHECK_DONE();
}
