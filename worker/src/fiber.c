/* Fibers on ucontext, with the hooks that let AddressSanitizer and
 * valgrind follow a stack switch (without them ASan reports the other
 * stack's frames as overflows, and valgrind warns about the jump). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "fiber.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif

/* Stacks of freed fibers, for the next ones (of any thread): a worker
 * keeps and drops runs all the time, and a fresh mapping costs two system
 * calls and a page fault per page the function touches. */
#define SPARE_STACKS 16
/* A spare keeps the pages a shallow function touches (the top of its
 * stack); deeper ones go back to the system, so the spares stay small. */
#define SPARE_KEEP (256 * 1024)
/* PROT_NONE below every stack: a frame larger than a page (a big local
 * array) can jump one guard page, rarely a gap this wide. */
#define GUARD_SIZE (64 * 1024)
typedef struct spare {
	void *map;
	size_t map_size;
	struct spare *next;
} spare_t;
static spare_t *spares;
static int nspares;
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;

struct durable__fiber {
	ucontext_t self, caller;
	void *map;                 /* guard gap + stack */
	size_t map_size;
	char *stack;               /* its usable part */
	size_t stack_size;
	durable__fiber_fn fn;
	void *arg;
	int ended;
	unsigned valgrind_id;
	int valgrind_on;
	/* ASan: the stack being left, so that it can be announced on the way back */
	const void *caller_bottom;
	size_t caller_size;
};

static void switch_out(durable__fiber_t *f, int ending)
{
#ifdef FIBER_ASAN
	void *fake = NULL;
	/* a NULL fake-stack slot tells ASan the fiber's stack dies with this switch */
	__sanitizer_start_switch_fiber(ending ? NULL : &fake, f->caller_bottom, f->caller_size);
	if (ending)
		return;   /* uc_link switches */
	swapcontext(&f->self, &f->caller);
	__sanitizer_finish_switch_fiber(fake, &f->caller_bottom, &f->caller_size);
#else
	if (!ending)
		swapcontext(&f->self, &f->caller);
#endif
}

/* makecontext passes ints: the pointer in two halves. */
static void trampoline(unsigned hi, unsigned lo)
{
	durable__fiber_t *f = (durable__fiber_t *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, &f->caller_bottom, &f->caller_size);
#endif
	f->fn(f->arg);
	f->ended = 1;
	switch_out(f, 1);
}

int durable__fiber_new(size_t stack_size, durable__fiber_fn fn, void *arg, durable__fiber_t **out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t guard = (GUARD_SIZE + page - 1) / page * page;
	stack_size = (stack_size + page - 1) / page * page;
	durable__fiber_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->map_size = stack_size + guard;
	f->map = NULL;
	pthread_mutex_lock(&spares_lock);
	spare_t **sp = &spares;
	while (*sp && (*sp)->map_size != f->map_size)
		sp = &(*sp)->next;
	if (*sp) {
		f->map = (*sp)->map;
		*sp = (*sp)->next;
		nspares--;
	}
	pthread_mutex_unlock(&spares_lock);
	if (!f->map) {
		/* untouched pages cost nothing: a run uses what its code needs */
		f->map = mmap(NULL, f->map_size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (f->map == MAP_FAILED) {
			free(f);
			return -ENOMEM;
		}
		/* an overflow faults in the guard gap instead of writing over the heap */
		if (mprotect(f->map, guard, PROT_NONE) < 0) {
			munmap(f->map, f->map_size);
			free(f);
			return -ENOMEM;
		}
	}
	f->stack = (char *)f->map + guard;
	f->stack_size = stack_size;
	f->fn = fn;
	f->arg = arg;
	if (getcontext(&f->self) < 0) {
		f->ended = 1;
		durable__fiber_free(f);
		return -ENOMEM;
	}
	f->self.uc_stack.ss_sp = f->stack;
	f->self.uc_stack.ss_size = f->stack_size;
	f->self.uc_link = &f->caller;
	uintptr_t p = (uintptr_t)f;
	makecontext(&f->self, (void (*)(void))trampoline, 2, (unsigned)(p >> 32), (unsigned)(p & 0xffffffffu));
#ifdef FIBER_VALGRIND
	f->valgrind_id = VALGRIND_STACK_REGISTER(f->stack, f->stack + f->stack_size);
	f->valgrind_on = 1;
#endif
	*out = f;
	return 0;
}

int durable__fiber_resume(durable__fiber_t *f)
{
	if (f->ended)
		return 1;
#ifdef FIBER_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(&fake, f->stack, f->stack_size);
	swapcontext(&f->caller, &f->self);
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
	swapcontext(&f->caller, &f->self);
#endif
	return f->ended;
}

void durable__fiber_yield(durable__fiber_t *f)
{
	switch_out(f, 0);
}

void durable__fiber_free(durable__fiber_t *f)
{
	if (!f)
		return;
#ifdef FIBER_VALGRIND
	if (f->valgrind_on)
		VALGRIND_STACK_DEREGISTER(f->valgrind_id);
#endif
#ifdef FIBER_ASAN
	/* the next fiber on this stack starts clean */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_size);
#endif
	/* the list lives in the spare stacks themselves */
	spare_t *spare = (spare_t *)(void *)f->stack;
	pthread_mutex_lock(&spares_lock);
	int kept = nspares < SPARE_STACKS;
	if (kept && f->stack_size > SPARE_KEEP)
		madvise(f->stack, f->stack_size - SPARE_KEEP, MADV_DONTNEED);
	if (kept) {
		spare->map = f->map;
		spare->map_size = f->map_size;
		spare->next = spares;
		spares = spare;
		nspares++;
	}
	pthread_mutex_unlock(&spares_lock);
	if (!kept)
		munmap(f->map, f->map_size);
	free(f);
}
