/*
 * An incremental JSON syntax scanner: it is fed a document in pieces of any
 * size, split at any byte, and says whether the text so far is a complete
 * document, may still become one, or never can. It checks RFC 8259 syntax
 * and the nesting limit only, never values: what a value may be (1e400, a
 * \u escape, UTF-8) is the store's jsonb rule, applied when the document
 * reaches it, so the mount and SQL accept the same documents.
 */
#ifndef DURABLEFS_JSCAN_H
#define DURABLEFS_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of arrays and objects a payload may have (the store's rule too). */
#define JSON_MAX_DEPTH 128

enum jscan_result {
	JSCAN_MORE,	/* not complete yet (or nothing but whitespace so far) */
	JSCAN_DONE,	/* one complete document, maybe followed by whitespace */
	JSCAN_BAD,	/* can never become a document: err says why */
};

struct jscan {
	int state, depth;
	int lit_pos;			/* position in the literal or \u escape being read */
	const char *lit;		/* "true", "false" or "null" while reading one */
	bool key;			/* the string being read is an object key */
	bool started;			/* a non-whitespace byte was seen */
	uint8_t in_object[JSON_MAX_DEPTH / 8 + 1]; /* per depth: object (1) or array (0) */
	size_t pos;			/* bytes fed so far */
	char err[160];
};

void jscan_init(struct jscan *s);
/* Feeds the next piece; BAD is final (later feeds return BAD too). */
enum jscan_result jscan_feed(struct jscan *s, const char *data, size_t len);
/*
 * The writer is done (close): a top-level number ends here. DONE, BAD with
 * err set ("ends early"), or MORE for a document that is only whitespace.
 */
enum jscan_result jscan_end(struct jscan *s);

#endif
