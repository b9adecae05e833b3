/*
 * web.h: the HTTP server of `sta web` and `sta scheduler --web`: the REST
 * API under /api/v1, /healthz, /readyz, /metrics and the UI in
 * web/static (docs/api.md).  The server runs on a libev loop it is given,
 * so the scheduler and the server share one loop and one thread; the
 * protocol is libmicrohttpd's, driven from that loop.
 *
 * Reads go straight to the state database over a connection of the
 * server's own; user actions go through runner/ops.h so they are audited
 * as "api:USER".
 */
#ifndef STA_WEB_H
#define STA_WEB_H

#include <stdint.h>

#include <ev.h>

struct web_opts {
	const char *home;           /* $STA_HOME: sta.db, logs */
	const char *dags_folder;
	const char *bind;           /* "[ADDR:]PORT"; NULL: 127.0.0.1:8080 */
	const char *analytics_db;   /* NULL: $STA_ANALYTICS_DB or $home/analytics.db */
	const char *static_dir;     /* NULL: $STA_WEB_STATIC, installed, or source tree */
	int require_auth;           /* ask for credentials even on loopback */
	/* The scheduler runs in this process (sta scheduler --web): wake it
	 * with a signal to ourselves.  sched_notify must not be used then: it
	 * opens and closes the lock file, and closing any descriptor of that
	 * file drops this process's lock on it. */
	int in_scheduler;
};

struct web;

/* Starts listening and adds the server's watchers to loop.  Returns the
 * server, or NULL with the reason logged (bad address, port in use,
 * database that cannot be opened).  Caller stops it with web_stop. */
struct web *web_start(struct ev_loop *loop, const struct web_opts *o);
/* Closes every connection and frees the server; NULL is a no-op. */
void web_stop(struct web *w);
/* The port it listens on (useful with port 0). */
int web_port(const struct web *w);
/* Whether requests need credentials (a non-loopback address or
 * require_auth). */
int web_auth_required(const struct web *w);

/* Figures only the scheduler knows, shown on /metrics as gauges.  They
 * are process-wide, so the scheduler needs no server handle to set them;
 * without a server they are simply never shown. */
enum web_metric {
	WEB_METRIC_SCHEDULING_LATENCY,  /* seconds from due to started, last try */
	WEB_METRIC_POD_LAUNCHES,        /* pods created so far */
	WEB_METRIC_POD_BACKOFFS,        /* pods seen in image pull / crash back-off */
	WEB_METRIC_COUNT
};

void web_metrics_set(enum web_metric m, double value);
void web_metrics_add(enum web_metric m, double delta);
double web_metrics_get(enum web_metric m);

#endif
