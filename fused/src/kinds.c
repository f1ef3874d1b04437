/* The table of kinds (kinds.h): one row per kind of node, read everywhere. */
#include "kinds.h"

#define DIR S_IFDIR | 0555
#define LINK S_IFLNK | 0777
#define RO S_IFREG | 0444	/* read the value */
#define RW S_IFREG | 0644	/* read the value, write a new one (or arguments, then read the answer) */
#define DOC S_IFREG | 0600	/* write a document, read the answer to it */
#define VERB S_IFREG | 0200	/* write only: ctl verbs, signals */
#define ROW(k, ...) [k] = { #k, __VA_ARGS__ }

static const struct kind_info kinds[K_COUNT] = {
	ROW(K_ROOT, DIR),
	ROW(K_README, RO, .sized = true),
	ROW(K_START, DOC, .read = R_START, .write = R_START),
	ROW(K_METRICS, RO, .sized = true, .read = R_QUEUES),
	ROW(K_LASTERR, RO, .sized = true),
	ROW(K_WORKFLOWS, DIR, .read = R_LIST),
	ROW(K_WF, DIR, .read = R_READ),
	ROW(K_FIELD, RO, .sized = true, .read = R_READ),
	ROW(K_HISTORY, RO, .read = R_READ),	/* history_stat gives its size */
	ROW(K_SIGNALS, DIR, .read = R_SIGNAL),
	ROW(K_SIGNAL, VERB, .write = R_SIGNAL),
	ROW(K_QUERIES, DIR, .read = R_QUERY),
	ROW(K_QUERY, RW, .read = R_QUERY, .write = R_QUERY),
	ROW(K_CTL, VERB, .lines = true, .write = R_CTL),
	ROW(K_RUNS, DIR, .read = R_RUNS),
	ROW(K_RUN, DIR, .read = R_READ),
	ROW(K_BYSTATUS, DIR, .read = R_LIST),
	ROW(K_STATUSDIR, DIR, .read = R_LIST),
	ROW(K_STATUSLINK, LINK),
	ROW(K_QUEUES, DIR, .read = R_QUEUES),
	ROW(K_QUEUE, DIR, .read = R_QUEUES | R_QTASKS | R_LEASE),
	ROW(K_QFILE, RO, .sized = true, .read = R_QUEUES),	/* tasks: R_QTASKS (rights.c) */
	ROW(K_NEXT, RO, .read = R_LEASE),	/* reading leases: its size is 0 */
	ROW(K_TASKS, DIR, .read = R_COMPLETE | R_FAIL | R_HEARTBEAT),
	ROW(K_TASK, DIR, .read = R_COMPLETE | R_FAIL | R_HEARTBEAT),
	/* each of result, failure and heartbeat needs its own right (rights.c) */
	ROW(K_TASKFILE, DOC, .read = R_COMPLETE | R_FAIL | R_HEARTBEAT,
	    .write = R_COMPLETE | R_FAIL | R_HEARTBEAT),
	ROW(K_SCHEDULES, DIR, .read = R_SCHEDS),
	ROW(K_SCHED, DIR, .read = R_SCHED),
	ROW(K_SFILE, RO, .sized = true, .read = R_SCHED),
	ROW(K_SCTL, VERB, .lines = true, .write = R_SCTL),
	ROW(K_SDOC, RW, .sized = true, .read = R_SCHED, .write = R_SUPDATE),
	ROW(K_UPDATES, DIR, .read = R_UPDATE),
	ROW(K_UPDATE, RW, .read = R_UPDATE, .write = R_UPDATE),
	ROW(K_ACTS, DIR, .read = R_READ),
	ROW(K_ACT, DIR, .read = R_READ),
	ROW(K_AFILE, RO, .sized = true, .read = R_READ),
	ROW(K_AOPTS, RW, .sized = true, .read = R_READ, .write = R_ACTCTL),
	ROW(K_ACTL, VERB, .lines = true, .write = R_ACTCTL),
	ROW(K_QLIMIT, RW, .lines = true, .sized = true, .read = R_LIMITS, .write = R_SETLIMITS),
	ROW(K_WHERE, DIR, .read = R_LIST),
	ROW(K_WHEREDIR, DIR, .read = R_LIST),
	ROW(K_WHERELINK, LINK),
	ROW(K_BATCHES, DIR, .read = R_LIST),
	ROW(K_BATCH, DIR, .read = R_LIST),
	ROW(K_BFILE, RO, .sized = true, .read = R_LIST),
	ROW(K_BCTL, VERB, .lines = true, .write = R_CTL),
	ROW(K_BSTART, DOC, .read = R_CTL, .write = R_CTL),
	ROW(K_SATTRS, RW, .lines = true, .sized = true, .read = R_LIST, .write = R_SATTR),
	ROW(K_QBUILD, RW, .lines = true, .sized = true, .read = R_BUILDS, .write = R_SETBUILDS),
	ROW(K_QKEYS, DIR, .read = R_LIMITS),
	ROW(K_QKEY, DIR, .read = R_LIMITS),
	ROW(K_KLIMIT, RW, .lines = true, .sized = true, .read = R_LIMITS, .write = R_SETLIMITS),
};

const struct kind_info *kind_info(enum kind k)
{
	static const struct kind_info none = { "?", 0, false, false, 0, 0 };
	return k > 0 && k < K_COUNT && kinds[k].name ? &kinds[k] : &none;
}

bool kinds_check(FILE *err)
{
	bool ok = true;
	for (int k = K_ROOT; k < K_COUNT; k++) {
		const struct kind_info *i = &kinds[k];
		const char *fault = !i->name ? "has no row in kinds.c"
			: !S_ISDIR(i->mode) && !S_ISREG(i->mode) && !S_ISLNK(i->mode) ? "has no file type"
			: kind_writable(k) != (i->write != 0) ? "is writable without a right to write, or the reverse"
			: i->lines && !kind_writable(k) ? "takes ctl lines but cannot be written"
			: i->sized && !S_ISREG(i->mode) ? "is sized but not a file"
			: S_ISDIR(i->mode) && (i->mode & 0222) ? "is a writable folder"
			: NULL;
		if (fault) {
			fprintf(err, "durablefs: kind %d (%s) %s\n", k, i->name ? i->name : "?", fault);
			ok = false;
		}
	}
	return ok;
}
