/* A seeded, structure-aware mutator for JSON documents and ctl verb lines. */
#ifndef FUZZ_MUTATE_H
#define FUZZ_MUTATE_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: the whole input stream is a function of the seed alone. */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n); /* 0 .. n-1; n > 0 */

/*
 * A mutation of doc (len bytes): mostly on the parsed tree (values swapped
 * for other types, huge/negative/NaN numbers, long and odd strings, deep
 * nesting, keys dropped, added or renamed), sometimes on the bytes. Returns
 * malloc'd text (NUL-terminated; *out_len excludes the NUL), or NULL.
 */
char *mutate_json(struct rng *r, const char *doc, size_t len, size_t *out_len);

/* Non-zero: only byte mutations, as a baseline to compare the tree's with. */
extern int mutate_bytes_only;

/* The same for newline-separated verb lines (ctl files). */
char *mutate_text(struct rng *r, const char *doc, size_t len, size_t *out_len);

#endif
