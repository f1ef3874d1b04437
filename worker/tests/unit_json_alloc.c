/* json_alloc.c: jansson's small blocks kept for reuse by the worker's loop
 * thread. A freed value's blocks are kept and given back to the next of
 * their size; a block from it is a malloc block (free() takes json_dumps's
 * text); large blocks, other threads and a full pool go to malloc and free;
 * end frees what is kept (valgrind: nothing lost). */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
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

/* what the pool holds in all: every class's bytes */
static size_t kept_total(void)
{
	size_t t = 0;
	for (size_t size = 24; size <= 24 + 16 * 32; size += 16)
		t += durable__json_pool_kept(pool, size);
	return t;
}

/* a history of three events with short strings ("1", "ok", "w1"): a text
 * of 8 bytes or less is glibc's smallest block, 24 bytes */
static const char history[] =
	"[{\"event_id\": 1, \"event_type\": \"WorkflowExecutionStarted\", \"attributes\": "
	"{\"workflow_type\": \"Seq\", \"task_queue\": \"q\", \"input\": 1, \"identity\": null}}, "
	"{\"event_id\": 5, \"event_type\": \"ActivityTaskScheduled\", \"attributes\": "
	"{\"activity_id\": \"1\", \"activity_type\": \"noop\", \"input\": 1}}, "
	"{\"event_id\": 6, \"event_type\": \"ActivityTaskCompleted\", \"attributes\": "
	"{\"scheduled_event_id\": 5, \"result\": \"ok\", \"identity\": \"w1\"}}]";

/* read and free the history, 20 copies at once, `rounds` times */
static void histories(int rounds)
{
	int unread = 0;
	for (int r = 0; r < rounds; r++) {
		json_t *h[20];
		for (int i = 0; i < 20; i++)
			unread += (h[i] = durable__json_read(history, sizeof(history) - 1, 0)) == NULL;
		for (int i = 0; i < 20; i++)
			json_decref(h[i]);
	}
	CHECK(unread == 0, "the history reads every time (%d not)", unread);
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

	/* A short string's text is taken again. Under glibc (make unit runs this
	 * test without sanitizers too: ASan's and valgrind's malloc_usable_size
	 * give the requested size, glibc's at least 24), a class for less than
	 * its smallest block never got one back: the text went to malloc every
	 * time and its free filled the next class. */
	json_t *s1 = json_string("a");
	const char *s1_text = json_string_value(s1);
	json_decref(s1);
	json_t *s2 = json_string("b");
	CHECK(json_string_value(s2) == s1_text, "a short string's block is taken again");
	json_decref(s2);

	/* every size a class serves, its edges included (24 | 25, 40 | 41...):
	 * the block holds the request, and a freed block of that size is what
	 * the next request of it takes */
	json_malloc_t jm;
	json_free_t jf;
	json_get_alloc_funcs(&jm, &jf);
	int edges_ok = 1;
	for (size_t n = 1; n <= 24 + 16 * 32; n++) {
		void *m1 = jm(n);
		size_t got = malloc_usable_size(m1);
		jf(m1);
		void *m2 = jm(n);
		if (got < n || m2 != m1)
			edges_ok = 0, fprintf(stderr, "size %zu: a block of %zu, %s\n", n, got,
			                      m2 == m1 ? "taken again" : "not taken again");
		jf(m2);
	}
	CHECK(edges_ok, "every size up to 536 bytes is held and taken again");

	/* So the pool stays bounded over histories read and freed: what the
	 * first rounds kept is all it keeps (it grew by a block per short string
	 * a round, to its 32 MB cap, ~10^5 histories). */
	histories(10);
	size_t settled = kept_total();
	histories(1000);
	CHECK(kept_total() == settled, "the pool holds %zu bytes after 10 rounds, %zu after 1,010", settled,
	      kept_total());

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
