/*
 * malloc_trim.c: how much freed memory at the top of a backend's heap glibc
 * keeps instead of giving it back to the kernel (durable.malloc_trim_threshold).
 *
 * Every statement a plpgsql function runs sets up an executor and frees it
 * at its end, and an index scan's state alone is a 27 kB block of its own
 * (btbeginscan). With glibc's default threshold (128 kB, moved by its
 * dynamic mmap heuristics), a backend running durable's functions gave the
 * top of its heap back (sbrk, munmap of the pages) at the end of many
 * statements and took it again (sbrk, a page fault per page) in the next
 * one: 7% of the activity connection's CPU in malloc's system calls and
 * most of another 3% in page faults, in the ten-parallel shape
 * (docs/performance.md, "The cost of one activity"). Set in the postmaster,
 * which durable's _PG_init runs in, so every backend forked from it keeps
 * the setting. -1 leaves glibc's behaviour as it is.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "utils/guc.h"

#include "durable.h"

static int	durable_malloc_trim_threshold_kb = 2048;

void
DurableMallocDefineGucs(void)
{
	DefineCustomIntVariable("durable.malloc_trim_threshold",
							"Freed memory a server process keeps at the top of its heap before glibc returns it to the kernel.",
							"-1 leaves glibc's default (128 kB, adjusted dynamically). Read at server start.",
							&durable_malloc_trim_threshold_kb,
							2048, -1, 1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
#ifdef __GLIBC__
	if (durable_malloc_trim_threshold_kb >= 0 &&
		mallopt(M_TRIM_THRESHOLD, durable_malloc_trim_threshold_kb * 1024) != 1)
		ereport(WARNING,
				(errmsg("durable: could not set glibc's malloc trim threshold to %d kB",
						durable_malloc_trim_threshold_kb),
				 errhint("durable.malloc_trim_threshold is ignored; -1 silences this.")));
#endif
}
