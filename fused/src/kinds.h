/*
 * What each kind of node is, in one table (kinds.c): its mode, how writes to
 * it are gathered, whether stat renders it for a size, and which rights
 * reading and writing it need. Every place that asks "may this be opened for
 * writing", "is this a folder" or "what mode does stat show" reads the table,
 * so the mode a caller sees and what open(2) allows cannot drift apart.
 */
#ifndef DURABLEFS_KINDS_H
#define DURABLEFS_KINDS_H

#include "nodes.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

/* What a file asks of the caller's role; rights.c maps them to the store's grants. */
enum right {
	R_READ = 1 << 0, R_LIST = 1 << 1, R_RUNS = 1 << 2, R_START = 1 << 3,
	R_SIGNAL = 1 << 4, R_CTL = 1 << 5, R_QUERY = 1 << 6, R_QUEUES = 1 << 7,
	R_QTASKS = 1 << 8, R_LEASE = 1 << 9, R_COMPLETE = 1 << 10, R_FAIL = 1 << 11,
	R_HEARTBEAT = 1 << 12, R_SCHEDS = 1 << 13, R_SCHED = 1 << 14, R_SCTL = 1 << 15,
	R_UPDATE = 1 << 16, R_ACTCTL = 1 << 17, R_LIMITS = 1 << 18, R_SETLIMITS = 1 << 19,
	R_SATTR = 1 << 20, R_BUILDS = 1 << 21, R_SETBUILDS = 1 << 22,
	R_SUPDATE = 1 << 23,
};

struct kind_info {
	const char *name;	/* the kind's name, for kinds_check's messages */
	mode_t mode;		/* type and permissions for a caller with every right */
	bool lines;		/* writes are ctl lines, applied at each newline; else one JSON document */
	bool sized;		/* stat renders the content to give a true size */
	unsigned read, write;	/* rights that reading and writing need, any one of them; 0: none */
};

const struct kind_info *kind_info(enum kind k);

static inline bool kind_is_dir(enum kind k) { return S_ISDIR(kind_info(k)->mode); }
static inline bool kind_writable(enum kind k)
{
	return S_ISREG(kind_info(k)->mode) && (kind_info(k)->mode & 0222);
}
/* Verbs (ctl, signals): a file that cannot be opened for reading at all. */
static inline bool kind_write_only(enum kind k)
{
	return S_ISREG(kind_info(k)->mode) && !(kind_info(k)->mode & 0444);
}

/*
 * Checks the table against itself: every kind has a row, a writable file
 * needs a right to write, line writes are for writable files only. Writes
 * each fault to err; false if any. main() refuses to start on a fault.
 */
bool kinds_check(FILE *err);

#endif
