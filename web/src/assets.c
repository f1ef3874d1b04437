/* The page, its style and its script, linked into the binary (ld -r -b
 * binary, see the Makefile): nothing to install beside durable-web. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#define ASSET(sym) extern const char _binary_static_##sym##_start[], _binary_static_##sym##_end[]
ASSET(index_html);
ASSET(app_css);
ASSET(app_js);
ASSET(favicon_svg);

static const struct {
	const char *path, *type, *start, *end;
} assets[] = {
	{ "/", "text/html; charset=utf-8", _binary_static_index_html_start, _binary_static_index_html_end },
	{ "/app.css", "text/css; charset=utf-8", _binary_static_app_css_start, _binary_static_app_css_end },
	{ "/app.js", "text/javascript; charset=utf-8", _binary_static_app_js_start, _binary_static_app_js_end },
	{ "/favicon.svg", "image/svg+xml", _binary_static_favicon_svg_start, _binary_static_favicon_svg_end },
};

bool assets_handle(const char *url, struct reply *p)
{
	for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
		if (strcmp(url, assets[i].path) != 0)
			continue;
		size_t n = (size_t)(assets[i].end - assets[i].start);
		p->body = malloc(n + 1);
		if (!p->body) {
			reply_error(p, 500, "53200", "out of memory", NULL);
			return true;
		}
		memcpy(p->body, assets[i].start, n);
		p->body[n] = 0;
		p->status = 200;
		p->type = assets[i].type;
		return true;
	}
	return false;
}
