/* The HTTP side: libmicrohttpd does the protocol; this routes requests,
 * checks the session and the CSRF token, and sends JSON, files and
 * event streams back. */
#ifndef WEB_HTTP_H
#define WEB_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "session.h"

struct config {
	const char *listen;   /* address to bind, 127.0.0.1 by default */
	int port;             /* 0: any free port (written to port_file) */
	const char *port_file;
	bool sign_in;         /* users sign in with a role and password */
	const char *ns;       /* namespace shown first */
};
extern struct config conf;

struct req {
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	char *body;
	size_t len, cap;
	bool too_big;
	bool post_done;
	struct session *s; /* who is asking: a signed-in session or the anonymous one */
	json_t *json;      /* the body of a POST, parsed */
};

struct reply {
	unsigned status;
	char *body;           /* malloc'd */
	const char *type;     /* content type */
	char cookie[200];     /* Set-Cookie, if not empty */
	struct MHD_Response *stream; /* instead of body: an event stream */
};

/* Query-string argument, NULL when absent or empty. */
const char *http_arg(struct req *r, const char *name);
void reply_json(struct reply *p, unsigned status, char *json);
void reply_error(struct reply *p, unsigned status, const char *sqlstate, const char *message,
		 const char *hint);
void reply_db_error(struct reply *p, const struct db_err *e);

struct MHD_Daemon *http_start(void);

/* api.c */
bool api_handle(struct req *r, struct reply *p);
/* assets.c */
bool assets_handle(const char *url, struct reply *p);

#endif
