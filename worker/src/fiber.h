/* A function running on its own stack that can stop in the middle and be
 * continued later (ucontext): how a cached run keeps its workflow function
 * waiting between workflow tasks (run.c). One thread only: a fiber is
 * resumed, yields and is freed on the thread that made it. */
#ifndef DURABLE_FIBER_H
#define DURABLE_FIBER_H

#include <stddef.h>

typedef struct durable__fiber durable__fiber_t;
typedef void (*durable__fiber_fn)(void *arg);

/* A fiber that will run fn(arg) on a stack of stack_size bytes (plus a
 * guard page) at its first resume. 0, or -ENOMEM. */
int durable__fiber_new(size_t stack_size, durable__fiber_fn fn, void *arg, durable__fiber_t **out);
/* Runs the fiber until it yields (returns 0) or fn returns (1; then it
 * must not be resumed again). Called from outside the fiber. */
int durable__fiber_resume(durable__fiber_t *f);
/* From inside the fiber: back to durable__fiber_resume's caller, until the
 * next resume. */
void durable__fiber_yield(durable__fiber_t *f);
/* Frees a fiber that has ended or never ran (a fiber stopped in the middle
 * holds whatever its function holds: resume it until it ends first). */
void durable__fiber_free(durable__fiber_t *f);

#endif
