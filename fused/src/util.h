/* Small helpers every file shares: a growable byte buffer, logging. */
#ifndef DURABLEFS_UTIL_H
#define DURABLEFS_UTIL_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* All return 0 or -ENOMEM; the buffer stays valid either way. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Messages go to stderr (the daemon log), one line each, with a timestamp. */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

char *xstrdup(const char *s); /* strdup that accepts NULL */

#endif
