/* Files the daemon serves over HTTP, compiled into it: build-aux/embed.sh
 * turns each into a C array at build time (Makefile.am, "embedded files"),
 * so the daemon needs no data directory and a page always matches its
 * daemon. Each array ends with a NUL that its _len does not count. */
#ifndef SBD_HTTP_UI_H
#define SBD_HTTP_UI_H

#include <stddef.h>

/* daemon/http-ui.html: the web view, GET / */
extern const char http_ui_html[];
extern const size_t http_ui_html_len;

/* docs/openapi.json: the OpenAPI 3.1 description, GET /v1/openapi.json */
extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

#endif
