/* What docs/sdk.md's C fragments refer to without declaring it (the options
 * and values of the surrounding program), for tests/docs_check.py. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <durable.h>
#include <durable_test.h>

static const char *const declined[] = {"CardDeclined", NULL};
static const durable_activity_options_t pay = {.task_queue = "payments", .start_to_close_timeout = 10};
static const durable_activity_options_t quick = {.start_to_close_timeout = 10};
static const durable_activity_options_t inventory = {.task_queue = "inventory", .start_to_close_timeout = 5};
static const durable_activity_options_t payments = {.task_queue = "payments", .start_to_close_timeout = 5};
static const durable_activity_options_t shipping = {.task_queue = "shipping", .start_to_close_timeout = 10};
static const durable_activity_options_t opts = {.start_to_close_timeout = 60};
static json_t *in, *out, *p, *next_input, *res;
json_t *make_token(durable_ctx_t *ctx, void *arg);   /* a side effect of the program's */
