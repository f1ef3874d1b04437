/*
 * durable-web: the browser console and /metrics of a durable store.
 *   durable-web [--listen ADDR] [--port N] [--port-file F] [--dsn DSN]
 *               [--namespace NS] [--sign-in]
 * The connection comes from --dsn or the PG* variables. With --sign-in,
 * users sign in with a PostgreSQL role and password and act as that role;
 * without it the console is read-only, as the daemon's own role.
 */
#include "http.h"
#include "follow.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: durable-web [--listen ADDR] [--port N] [--port-file FILE] [--dsn DSN]\n"
		   "                   [--namespace NS] [--sign-in]\n"
		   "Serves the durable console on http://ADDR:N/ (127.0.0.1:8233 by default) and\n"
		   "/metrics. The store is reached with --dsn or the PG* variables.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' }, { "dsn", required_argument, NULL, 'd' },
		{ "namespace", required_argument, NULL, 'n' }, { "sign-in", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'l': conf.listen = optarg; break;
		case 'p':
			conf.port = (int)strtol(optarg, &end, 10);
			if (*end || conf.port < 0 || conf.port > 65535) {
				fprintf(stderr, "durable-web: --port wants 0 to 65535, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'f': conf.port_file = optarg; break;
		case 'd': db_dsn = optarg; break;
		case 'n': conf.ns = optarg; break;
		case 's': conf.sign_in = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* a thread per connection would otherwise spread the heap over up to
	 * eight arenas per core, each keeping its own high-water mark; the
	 * daemon waits on the store, not on malloc */
	mallopt(M_ARENA_MAX, 2);
	if (sodium_init() < 0) {
		fprintf(stderr, "durable-web: libsodium did not initialize\n");
		return 1;
	}
	/* signals are taken by sigwait below; threads inherit the mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	metrics_init();
	struct MHD_Daemon *d = http_start();
	if (!d) {
		fprintf(stderr, "durable-web: cannot listen on %s port %d\n", conf.listen, conf.port);
		metrics_free();
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	int port = info ? info->port : conf.port;
	if (follow_start()) {
		fprintf(stderr, "durable-web: cannot start the history follower\n");
		MHD_stop_daemon(d);
		return 1;
	}
	if (conf.port_file) {
		FILE *f = fopen(conf.port_file, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f)) {
			fprintf(stderr, "durable-web: cannot write %s\n", conf.port_file);
			return 1;
		}
	}
	fprintf(stderr, "durable-web: serving http://%s%s%s:%d/ (%s)\n", strchr(conf.listen, ':') ? "[" : "",
		conf.listen, strchr(conf.listen, ':') ? "]" : "", port,
		conf.sign_in ? "sign-in with a PostgreSQL role" : "read-only, as the daemon's role");
	int sig;
	sigwait(&set, &sig);
	fprintf(stderr, "durable-web: stopping\n");
	follow_stop(); /* ends the event streams, so the connections can close */
	MHD_stop_daemon(d);
	session_shutdown();
	metrics_free();
	return 0;
}
