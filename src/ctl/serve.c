/*
 * serve-metrics: the counters of `turnpikectl counters --prometheus` over
 * HTTP, for a Prometheus server to scrape (text exposition format
 * 0.0.4). A process of its own, beside turnpiked: the master and the
 * workers never parse HTTP from the network, and a scrape reads the same
 * snapshot in the store that every other turnpikectl command reads.
 *
 * GET or HEAD /metrics: 200 and the figures; 503 and the reason when
 * turnpiked is not running (Prometheus then records the target down).
 * Any other path is 404, any other method 405. Loopback by default.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ctl.h"

#define SERVE_HEADERS_MAX     8192
#define SERVE_TIMEOUT_SECONDS 10

/* "HOST:PORT" or "[IPV6]:PORT" into host (in place) and port. */
static int split_listen(char *text, char **host, uint16_t *port)
{
	char *colon = strrchr(text, ':'), *end;
	unsigned long value;

	if (colon == NULL || colon == text)
		return EINVAL;
	*colon = '\0';
	errno = 0;
	value = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || value == 0 ||
	    value > 65535)
		return EINVAL;
	*port = (uint16_t)value;
	*host = text;
	if (text[0] == '[') {
		size_t length = strlen(text);

		if (length < 3 || text[length - 1] != ']')
			return EINVAL;
		text[length - 1] = '\0';
		*host = text + 1;
	}
	return 0;
}

static void reply_text(struct evhttp_request *request, int code,
                       const char *reason, const char *text)
{
	struct evbuffer *body = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(request),
	                  "Content-Type", "text/plain; charset=utf-8");
	if (body != NULL)
		evbuffer_add_printf(body, "%s\n", text);
	evhttp_send_reply(request, code, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}

/* The figures as `counters --prometheus` prints them, into body. */
static int render(const struct store_status *status, struct evbuffer *body)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	int rc;

	if (out == NULL)
		return ENOMEM;
	ctl_prometheus_write(out, status);
	rc = fclose(out) == 0 ? 0 : ENOMEM;
	if (rc == 0 && evbuffer_add(body, text, size) != 0)
		rc = ENOMEM;
	free(text);
	return rc;
}

static void on_metrics(struct evhttp_request *request, void *arg)
{
	const struct ctl *ctl = arg;
	struct ctl_master master;
	struct store *store;
	struct evbuffer *body;
	int rc;

	rc = ctl_master_find(ctl, &store, &master);
	if (rc == CTL_EXIT_NOT_RUNNING) {
		reply_text(request, 503, "Service Unavailable", master.why);
		ctl_master_release(&master);
		return;
	}
	if (rc != CTL_EXIT_OK) {
		reply_text(request, 503, "Service Unavailable",
		           "cannot read turnpiked's state (see turnpikectl's "
		           "standard error)");
		return;
	}
	body = evbuffer_new();
	if (master.status->counter_count == 0)
		reply_text(request, 503, "Service Unavailable",
		           "the running turnpiked publishes no counters "
		           "(restart it to run this version)");
	else if (body == NULL || render(master.status, body) != 0)
		reply_text(request, 500, "Internal Server Error",
		           "out of memory");
	else {
		evhttp_add_header(evhttp_request_get_output_headers(request),
		                  "Content-Type",
		                  "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(request, 200, "OK", body);
	}
	if (body != NULL)
		evbuffer_free(body);
	ctl_master_release(&master);
	store_close(store);
}

static void on_other(struct evhttp_request *request, void *arg)
{
	(void)arg;
	reply_text(request, 404, "Not Found", "turnpike serves /metrics");
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* The server on base, bound to host and port; on failure says why. */
static struct evhttp *start(struct event_base *base, struct ctl *ctl,
                            const char *host, uint16_t port)
{
	struct evhttp *http = evhttp_new(base);

	if (http == NULL) {
		ctl_error("out of memory");
		return NULL;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(http, SERVE_HEADERS_MAX);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, SERVE_TIMEOUT_SECONDS);
	evhttp_set_cb(http, "/metrics", on_metrics, ctl);
	evhttp_set_gencb(http, on_other, NULL);
	if (evhttp_bind_socket_with_handle(http, host, port) == NULL) {
		ctl_error("cannot listen on %s port %u: %s", host, port,
		          strerror(errno));
		evhttp_free(http);
		return NULL;
	}
	return http;
}

int ctl_cmd_serve_metrics(struct ctl *ctl)
{
	char *listen =
	    strdup(ctl->listen != NULL ? ctl->listen : CTL_METRICS_LISTEN);
	struct event *stop[2] = {NULL, NULL};
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	char *host;
	uint16_t port;
	int rc = CTL_EXIT_ERROR;

	if (ctl->arg_count != 1) {
		free(listen);
		return ctl_usage_error("serve-metrics takes no argument");
	}
	if (listen == NULL)
		return ctl_error("out of memory");
	if (split_listen(listen, &host, &port) != 0) {
		rc = ctl_usage_error("--listen wants HOST:PORT or [IPV6]:PORT, "
		                     "not '%s'",
		                     ctl->listen);
		goto out;
	}
	/* A scraper that goes away mid-reply is not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL || (http = start(base, ctl, host, port)) == NULL)
		goto out;
	stop[0] = evsignal_new(base, SIGTERM, on_stop, base);
	stop[1] = evsignal_new(base, SIGINT, on_stop, base);
	if (stop[0] == NULL || stop[1] == NULL ||
	    event_add(stop[0], NULL) != 0 || event_add(stop[1], NULL) != 0) {
		ctl_error("cannot watch for SIGTERM and SIGINT");
		goto out;
	}
	printf("turnpikectl: serving http://%s%s%s:%u/metrics\n",
	       strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", port);
	fflush(stdout);
	rc = event_base_dispatch(base) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
out:
	for (size_t i = 0; i < 2; i++)
		if (stop[i] != NULL)
			event_free(stop[i]);
	if (http != NULL)
		evhttp_free(http);
	if (base != NULL)
		event_base_free(base);
	free(listen);
	return rc;
}
