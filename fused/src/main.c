/* durablefs: mount durable's workflows as files. Option parsing and the loop. */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct fuse_lowlevel_ops durablefs_ops;
/* Frees the handles of files still open when the session ends. */
void ops_close_all(void);

struct fsconf conf;

struct opts {
	char *dsn;
	char *ns;
	int query_timeout_ms;
	int statement_timeout_ms;
	int help;
	char *users;		/* callers.c: uid to database role */
	int allow_other;	/* consumed here, handed back to libfuse */
	int allow_root;
};

#define OPT(t, p) { t, offsetof(struct opts, p), 1 }
static const struct fuse_opt opt_spec[] = {
	OPT("--dsn=%s", dsn), OPT("dsn=%s", dsn),
	OPT("--namespace=%s", ns), OPT("namespace=%s", ns),
	OPT("--query-timeout-ms=%d", query_timeout_ms), OPT("query_timeout_ms=%d", query_timeout_ms),
	OPT("--statement-timeout-ms=%d", statement_timeout_ms),
	OPT("statement_timeout_ms=%d", statement_timeout_ms),
	OPT("--users=%s", users), OPT("users=%s", users),
	OPT("allow_other", allow_other), OPT("allow_root", allow_root),
	OPT("-h", help), OPT("--help", help),
	FUSE_OPT_END,
};

/*
 * The docs and --help show "--opt VALUE"; fuse_opt applies every template
 * that prefixes an argument, so "--opt %d" next to "--opt=%d" would also
 * take "=N" as a value. Instead, "--opt" "VALUE" becomes "--opt=VALUE" here.
 * Returns a new argument vector (the strings it joins are allocated).
 */
static char **join_option_values(int argc, char *argv[], int *out_argc)
{
	static const char *const with_value[] = {
		"--dsn", "--namespace", "--query-timeout-ms", "--statement-timeout-ms", "--users",
	};
	char **out = calloc((size_t)argc + 1, sizeof *out);
	if (!out)
		return NULL;
	int n = 0;
	for (int i = 0; i < argc; i++) {
		bool joined = false;
		for (size_t k = 0; i > 0 && i + 1 < argc && k < sizeof with_value / sizeof *with_value; k++) {
			if (strcmp(argv[i], with_value[k]) == 0) {
				size_t len = strlen(argv[i]) + strlen(argv[i + 1]) + 2;
				out[n] = malloc(len);
				if (!out[n])
					return NULL; /* the process is about to exit anyway */
				snprintf(out[n++], len, "%s=%s", argv[i], argv[i + 1]);
				i++;
				joined = true;
				break;
			}
		}
		if (!joined)
			out[n++] = argv[i];
	}
	*out_argc = n;
	return out;
}

static void free_joined(char **joined, int argc, char **orig, int orig_argc)
{
	for (int i = 0; i < argc; i++) {
		bool ours = true;
		for (int j = 0; j < orig_argc && ours; j++)
			ours = joined[i] != orig[j];
		if (ours)
			free(joined[i]);
	}
	free(joined);
}

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [-f] [-d] [-s] [--dsn DSN] [-o option,...]\n"
	       "  --dsn DSN                  libpq connection string (default: PG* variables)\n"
	       "  --namespace NS             durable namespace (default: default)\n"
	       "  --query-timeout-ms N       how long a read of queries/<name> waits (10000)\n"
	       "  --statement-timeout-ms N   server-side limit on every statement (30000)\n"
	       "  --users FILE               map each calling user to a database role\n"
	       "                             (needed by -o allow_other; docs/security.md)\n"
	       "  (each also as --opt=VALUE, and as -o dsn=...,namespace=...,query_timeout_ms=...,\n"
	       "   statement_timeout_ms=...,users=...)\n\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

int main(int argc, char *argv[])
{
	int orig_argc = argc;
	char **orig_argv = argv;
	char **joined = join_option_values(argc, argv, &argc);
	if (!joined)
		return 1;
	argv = joined;
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct opts o = { .query_timeout_ms = 10000, .statement_timeout_ms = 30000 };
	struct fuse_cmdline_opts cl = { 0 };
	int ret = 1;

	if (fuse_opt_parse(&args, &o, opt_spec, NULL) == -1)
		goto out_args;
	if (o.help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &cl) != 0)
		goto out_args;
	if (!kinds_check(stderr))
		goto out_args; /* a kind without a sane row: a build fault, caught at the first mount */
	if (!cl.mountpoint) {
		usage(argv[0]);
		goto out_args;
	}
	/* a statement must be able to outlast a query's wait */
	if (o.statement_timeout_ms < o.query_timeout_ms + 1000)
		o.statement_timeout_ms = o.query_timeout_ms + 1000;
	conf.ns = o.ns ? o.ns : strdup("default");
	conf.query_timeout_ms = o.query_timeout_ms;
	char host[64] = "";
	gethostname(host, sizeof host - 1);
	snprintf(conf.identity, sizeof conf.identity, "durablefs@%s:%ld", host, (long)getpid());
	if (db_init(o.dsn, o.statement_timeout_ms))
		goto out_args;
	/* fail early and clearly if the store cannot be reached */
	struct db_err e;
	PGconn *c = db_get(&e);
	if (!c) {
		fprintf(stderr, "durablefs: %s\n", e.msg);
		goto out_db;
	}
	db_put(c);
	if (callers_init(o.users, o.allow_other || o.allow_root, &e) != 0) {
		fprintf(stderr, "durablefs: %s\n", e.msg);
		goto out_db;
	}
	if ((o.allow_other && fuse_opt_add_arg(&args, "-oallow_other") != 0) ||
	    (o.allow_root && fuse_opt_add_arg(&args, "-oallow_root") != 0))
		goto out_db;

	nodes_init();
	conf.se = fuse_session_new(&args, callers_ops(&durablefs_ops), sizeof durablefs_ops, NULL);
	if (!conf.se)
		goto out_db;
	if (fuse_set_signal_handlers(conf.se) != 0)
		goto out_session;
	if (fuse_session_mount(conf.se, cl.mountpoint) != 0)
		goto out_signals;
	logmsg("mounted %s (namespace %s, query timeout %d ms, statement timeout %d ms)",
	       cl.mountpoint, conf.ns, o.query_timeout_ms, o.statement_timeout_ms);
	if (fuse_daemonize(cl.foreground) != 0)
		goto out_unmount;
	/* after daemonizing: a fork would not carry the thread along */
	if (watch_start() != 0)
		goto out_unmount;
	if (cl.singlethread) {
		ret = fuse_session_loop(conf.se);
	} else {
		/* blocking reads (next, queries) must not stall the mount */
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		if (!lc)
			goto out_watch;
		fuse_loop_cfg_set_clone_fd(lc, (unsigned)cl.clone_fd);
		if (cl.max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
			fuse_loop_cfg_set_idle_threads(lc, cl.max_idle_threads);
		if (cl.max_threads > 0 && cl.max_threads <= 100000) /* else libfuse's default */
			fuse_loop_cfg_set_max_threads(lc, cl.max_threads);
		ret = fuse_session_loop_mt(conf.se, lc);
		fuse_loop_cfg_destroy(lc);
	}
out_watch:
	/* before watch_stop, which frees the watches these handles hold */
	ops_close_all();
	watch_stop();
	logmsg("unmounting %s", cl.mountpoint);
out_unmount:
	fuse_session_unmount(conf.se);
out_signals:
	fuse_remove_signal_handlers(conf.se);
out_session:
	fuse_session_destroy(conf.se);
out_db:
	callers_shutdown();
	history_shutdown();
	lasterr_shutdown();
	db_shutdown();
out_args:
	free(cl.mountpoint);
	free(conf.ns);
	free(o.dsn);
	free(o.users);
	fuse_opt_free_args(&args);
	free_joined(joined, argc, orig_argv, orig_argc);
	return ret ? 1 : 0;
}
