/* durable-worker: polls one task queue for workflow and activity tasks,
 * running the workflows and activities of the plugins it loads and the
 * executables of an activities directory. */
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "durable.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: durable-worker --task-queue Q [--activities-dir DIR] [--plugin X.so ...]\n"
		"                      [--concurrency N] [--batch N] [--dsn DSN] [--namespace NS]\n"
		"                      [--identity ID] [--connections N] [--completion-batch N] [--cache N]\n"
		"                      [--run-cache N] [--no-workflows] [--no-activities] [--no-eager] [--no-handback]\n"
		"                      [--build-id ID] [--codec-key FILE]\n"
		"       durable-worker --replay PATH --plugin X.so ...\n"
		"The connection comes from --dsn or the PG* environment variables.\n"
		"SIGTERM or SIGINT drains: running activities finish, then it exits 0.\n"
		"--cache N keeps the histories of N runs (default 4096; -1: none), so that a task brings only\n"
		"its new events: the store remembers what it sent this worker process (sticky histories).\n"
		"--run-cache N keeps the workflow functions of N runs (default 1024, at most --cache's) waiting\n"
		"between their tasks, so that a task runs only its new events; -1: every task replays.\n"
		"--no-eager: activities the worker's workflow tasks schedule on its queue wait for its\n"
		"activity poll, instead of being leased to it with the completion (eager execution).\n"
		"--no-handback: workflow tasks the worker's activity outcomes make ready wait for its\n"
		"workflow poll, instead of being leased to it with the outcomes (the hand-back).\n"
		"--build-id names the build of this code: a queue versioned with durable.set_build_id_rules\n"
		"gives it only workflow tasks of runs on that build.\n"
		"--codec-key encrypts payloads with the last key of FILE before they reach the store and\n"
		"decrypts them with any of its keys (durable-codec keygen makes keys; docs/security.md).\n"
		"--replay replays a history file (NDJSON, as the mount's history file gives), or every\n"
		"file of a folder, against the plugins' workflows and connects to nothing: it exits 0 if\n"
		"all replay, 1 naming the first event that no longer matches, 2 for unreadable input.\n");
}

/* Replays PATH, or each regular file of the folder PATH in name order;
 * returns the exit status. */
static int replay(durable_worker_t *w, const char *path)
{
	char err[1024], file[4096];
	struct stat st;
	struct dirent **names = NULL;
	int n = 1, failed = 0, bad = 0, passed = 0;
	int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (dir && (n = scandir(path, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "durable-worker: replay: %s: %s\n", path, strerror(errno));
		return 2;
	}
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, dir ? names[i]->d_name : "");
		const char *f = dir ? file : path;
		if (dir && (names[i]->d_name[0] == '.' || stat(f, &st) < 0 || !S_ISREG(st.st_mode)))
			continue;
		int rc = durable_worker_replay_file(w, f, err, sizeof(err));
		if (rc == DURABLE_ENONDET || rc == DURABLE_EFAILED) {
			fprintf(stderr, "durable-worker: replay: %s\n", err);
			failed++;
		} else if (rc < 0) {
			fprintf(stderr, "durable-worker: replay: %s\n", err);
			bad++;
		} else {
			passed++;
		}
	}
	for (int i = 0; dir && i < n; i++)
		free(names[i]);
	free(names);
	printf("replayed %d histories: %d ok, %d no longer match, %d unreadable\n", passed + failed + bad, passed,
	       failed, bad);
	if (passed + failed + bad == 0)
		fprintf(stderr, "durable-worker: replay: no history files in %s\n", path);
	return bad ? 2 : failed ? 1 : passed ? 0 : 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"task-queue", required_argument, NULL, 'q'}, {"activities-dir", required_argument, NULL, 'a'},
		{"plugin", required_argument, NULL, 'p'},     {"concurrency", required_argument, NULL, 'c'},
		{"batch", required_argument, NULL, 'b'},      {"dsn", required_argument, NULL, 'd'},
		{"namespace", required_argument, NULL, 'n'},  {"identity", required_argument, NULL, 'i'},
		{"no-workflows", no_argument, NULL, 'W'},     {"no-activities", no_argument, NULL, 'A'},
		{"connections", required_argument, NULL, 'C'},
		{"completion-batch", required_argument, NULL, 'B'},
		{"cache", required_argument, NULL, 'H'},
		{"run-cache", required_argument, NULL, 'R'},
		{"replay", required_argument, NULL, 'r'},
		{"build-id", required_argument, NULL, 'V'},
		{"codec-key", required_argument, NULL, 'K'},
		{"no-eager", no_argument, NULL, 'E'},
		{"no-handback", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
	durable_worker_options_t o = {0};
	const char *plugins[64], *replay_path = NULL;
	int nplugins = 0, c;
	while ((c = getopt_long(argc, argv, "q:a:p:c:b:d:n:i:C:B:H:R:r:V:K:WAEh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': o.task_queue = optarg; break;
		case 'a': o.activities_dir = optarg; break;
		case 'p':
			if (nplugins == 64) {
				fprintf(stderr, "durable-worker: at most 64 plugins\n");
				return 2;
			}
			plugins[nplugins++] = optarg;
			break;
		case 'c': o.max_concurrent_activities = atoi(optarg); break;
		case 'b': o.max_workflow_batch = atoi(optarg); break;
		case 'd': o.dsn = optarg; break;
		case 'n': o.namespace_ = optarg; break;
		case 'i': o.identity = optarg; break;
		case 'C': o.completion_connections = atoi(optarg); break;
		case 'B': o.completion_batch = atoi(optarg); break;
		case 'H': o.history_cache = atoi(optarg); break;
		case 'R': o.run_cache = atoi(optarg); break;
		case 'r': replay_path = optarg; break;
		case 'V': o.build_id = optarg; break;
		case 'K': o.codec_key_file = optarg; break;
		case 'W': o.no_workflows = 1; break;
		case 'A': o.no_activities = 1; break;
		case 'E': o.no_eager_activities = 1; break;
		case 'G': o.no_handback = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (replay_path && !o.task_queue)
		o.task_queue = "replay";   /* nothing is polled */
	if (!o.task_queue || optind != argc || (replay_path && !nplugins)) {
		usage(stderr);
		return 2;
	}
	durable_worker_t *w;
	int rc = durable_worker_new(&o, &w);
	if (rc < 0) {
		fprintf(stderr, "durable-worker: %s\n", durable_strerror(rc));
		return 1;
	}
	for (int i = 0; i < nplugins; i++) {
		void *h = dlopen(plugins[i], RTLD_NOW | RTLD_LOCAL);
		durable_plugin_init_fn init = h ? (durable_plugin_init_fn)(uintptr_t)dlsym(h, DURABLE_PLUGIN_INIT) : NULL;
		if (!init) {
			fprintf(stderr, "durable-worker: cannot load plugin %s: %s\n", plugins[i], dlerror());
			durable_worker_free(w);
			return 1;
		}
		if ((rc = init(w)) < 0) {
			fprintf(stderr, "durable-worker: plugin %s failed to register: %s\n", plugins[i],
				durable_strerror(rc));
			durable_worker_free(w);
			return 1;
		}
	}
	if (replay_path) {
		rc = replay(w, replay_path);
		durable_worker_free(w);
		return rc;
	}
	rc = durable_worker_run(w);
	durable_worker_free(w);
	return rc < 0 ? 1 : 0;
}
