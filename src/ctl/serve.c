/*
 * serve-metrics: the counters of `turnpikectl counters --prometheus` over
 * HTTP, for a Prometheus server to scrape (text exposition format
 * 0.0.4). A process of its own, beside turnpiked: the master and the
 * workers never parse HTTP from the network, and a scrape reads the same
 * snapshot in the store that every other turnpikectl command reads.
 *
 * A scraper needs one request per connection, so that is all this
 * serves (RFC 9112 §9.6, "Connection: close"): a request line and headers
 * within SERVE_REQUEST_MAX bytes, one answer, then the close, all within
 * SERVE_DEADLINE_SECONDS of the accept. What a client sends after its request
 * is not read, so nothing a client does queues more than one answer, and at
 * most SERVE_CONNECTIONS_MAX connections are open: a client that sends
 * slowly, pipelines or never reads costs a bounded slot for a bounded
 * time. At the cap a new connection takes a slot from an older one: one
 * whose answer has left first, then one still without an answer, so
 * that idle connections cannot lock a scraper out (a scraper sends its
 * request as soon as it connects, and leaves once answered).
 * libevent's evhttp keeps connections alive, queues an answer per
 * pipelined request and has no connection cap, hence this.
 *
 * GET /metrics: 200 and the figures; 503 and the reason when turnpiked is
 * not running (Prometheus then records the target down). Another path
 * is 404, another method 405, a request that does not parse 400, one
 * too long 431. Loopback by default.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ctl.h"

#define SERVE_REQUEST_MAX      8192
#define SERVE_DEADLINE_SECONDS 5
#define SERVE_CONNECTIONS_MAX  32
#define SERVE_BACKLOG          64
/* After accept() failed for want of descriptors, listen again in a
 * second rather than spin on a ready listener. */
#define SERVE_ACCEPT_PAUSE_SECONDS 1

struct connection;

struct server {
	struct ctl *ctl;
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume; /* the accept pause */
	unsigned connections;
	/* The open connections, oldest first. */
	struct connection *oldest, *newest;
};

struct connection {
	struct server *server;
	struct connection *older, *newer;
	struct bufferevent *bev;
	struct event *deadline;
	size_t scanned; /* input searched for the end of the headers */
	bool head;      /* a HEAD request: its answer has no body */
	bool answered;
	bool lingering; /* the answer has left (on_written) */
};

/* "HOST:PORT" or "[IPV6]:PORT" into host (in place) and port: a decimal
 * port of 1-65535 and nothing else. */
static int split_listen(char *text, char **host, const char **port)
{
	char *colon = strrchr(text, ':');
	unsigned long value;
	size_t length;

	if (colon == NULL || colon == text || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5)
		return EINVAL;
	value = strtoul(colon + 1, NULL, 10);
	if (value == 0 || value > 65535)
		return EINVAL;
	*colon = '\0';
	*port = colon + 1;
	*host = text;
	length = strlen(text);
	if (text[0] == '[') {
		if (length < 3 || text[length - 1] != ']')
			return EINVAL;
		text[length - 1] = '\0';
		*host = text + 1;
		if (strchr(*host, ':') == NULL || strpbrk(*host, "[]") != NULL)
			return EINVAL;
	} else if (strpbrk(text, ":[]") != NULL) {
		return EINVAL; /* an IPv6 address goes in brackets */
	}
	return 0;
}

static void connection_free(struct connection *c)
{
	struct server *server = c->server;

	if (c->older != NULL)
		c->older->newer = c->newer;
	else
		server->oldest = c->newer;
	if (c->newer != NULL)
		c->newer->older = c->older;
	else
		server->newest = c->older;
	server->connections--;
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

/* Queues the one answer and stops reading; the connection closes once the
 * answer has left (on_written) or at the deadline. */
static void answer(struct connection *c, int code, const char *reason,
                   const char *content_type, const char *extra_headers,
                   const char *body, size_t length)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(out,
	                    "HTTP/1.1 %d %s\r\n"
	                    "Content-Type: %s\r\n"
	                    "Content-Length: %zu\r\n"
	                    "%s"
	                    "Connection: close\r\n\r\n",
	                    code, reason, content_type, length, extra_headers);
	/* RFC 9112 §6.3: an answer to HEAD has headers only. */
	if (!c->head)
		evbuffer_add(out, body, length);
}

static void answer_text(struct connection *c, int code, const char *reason,
                        const char *extra_headers, const char *text)
{
	char body[600];
	int n = snprintf(body, sizeof(body), "%s\n", text);

	answer(c, code, reason, "text/plain; charset=utf-8", extra_headers,
	       body,
	       n < 0                      ? 0
	       : (size_t)n < sizeof(body) ? (size_t)n
	                                  : sizeof(body) - 1);
}

static void answer_metrics(struct connection *c)
{
	struct ctl_master master;
	struct store *store;
	char *text = NULL;
	size_t size = 0;
	FILE *out;
	int rc;

	ctl_last_error[0] = '\0';
	rc = ctl_master_find(c->server->ctl, &store, &master);
	if (rc == CTL_EXIT_NOT_RUNNING) {
		answer_text(c, 503, "Service Unavailable", "", master.why);
		ctl_master_release(&master);
		return;
	}
	if (rc != CTL_EXIT_OK) {
		answer_text(c, 503, "Service Unavailable", "",
		            ctl_last_error[0] != '\0'
		                ? ctl_last_error
		                : "cannot read turnpiked's state");
		return;
	}
	if (master.status->counter_count == 0) {
		answer_text(c, 503, "Service Unavailable", "",
		            "the running turnpiked publishes no counters "
		            "(restart it to run this version)");
	} else if ((out = open_memstream(&text, &size)) == NULL) {
		answer_text(c, 500, "Internal Server Error", "",
		            "out of memory");
	} else {
		ctl_prometheus_write(out, master.status);
		if (fclose(out) != 0)
			answer_text(c, 500, "Internal Server Error", "",
			            "out of memory");
		else
			answer(c, 200, "OK",
			       "text/plain; version=0.0.4; charset=utf-8", "",
			       text, size);
		free(text);
	}
	ctl_master_release(&master);
	store_close(store);
}

/* The request line, "METHOD TARGET HTTP/1.x", once the headers are in. */
static void serve_request(struct connection *c, char *line)
{
	char *method = line, *target, *version, *query;

	target = strchr(method, ' ');
	version = target != NULL ? strchr(target + 1, ' ') : NULL;
	if (version == NULL || (strcmp(version + 1, "HTTP/1.1") != 0 &&
	                        strcmp(version + 1, "HTTP/1.0") != 0)) {
		answer_text(c, 400, "Bad Request", "", "not an HTTP/1 request");
		return;
	}
	*target++ = '\0';
	*version = '\0';
	if ((query = strchr(target, '?')) != NULL)
		*query = '\0';
	c->head = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0)
		answer_text(c, 405, "Method Not Allowed", "Allow: GET\r\n",
		            "only GET");
	else if (strcmp(target, "/metrics") != 0)
		answer_text(c, 404, "Not Found", "",
		            "turnpike serves /metrics");
	else
		answer_metrics(c);
}

/* True once the input holds the end of the headers: an empty line, with
 * CRLF or, from lenient clients, bare LF (RFC 9112 §2.2). Each call
 * searches only what came since the last, so a request sent a byte at a
 * time costs linear time. */
static bool headers_complete(struct connection *c, struct evbuffer *in)
{
	static const char *const ends[] = {"\n\r\n", "\n\n"};
	size_t length = evbuffer_get_length(in);
	struct evbuffer_ptr from, found;

	for (size_t i = 0; i < 2; i++) {
		size_t start = c->scanned > 2 ? c->scanned - 2 : 0;

		if (evbuffer_ptr_set(in, &from, start, EVBUFFER_PTR_SET) != 0)
			continue;
		found = evbuffer_search(in, ends[i], strlen(ends[i]), &from);
		if (found.pos >= 0)
			return true;
	}
	c->scanned = length;
	return false;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct connection *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if (c->answered)
		return;
	if (!headers_complete(c, in)) {
		/* The read watermark stops reading at the bound. */
		if (evbuffer_get_length(in) >= SERVE_REQUEST_MAX)
			answer_text(c, 431, "Request Header Fields Too Large",
			            "", "request too long");
		return;
	}
	/* Empty lines before the request line are ignored (§2.2). */
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL &&
	       line[0] == '\0')
		free(line);
	if (line == NULL) {
		answer_text(c, 400, "Bad Request", "", "no request line");
		return;
	}
	serve_request(c, line);
	free(line);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	connection_free(arg); /* EOF, error: nothing more to do */
}

/* After the answer: whatever the client still sends is read and dropped
 * until it closes or the deadline comes. */
static void on_drain(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The answer has left. Closing with unread input would make the kernel
 * reset the connection, and the client might lose the answer (a 431 to
 * a request still being sent): the write side closes, then the rest is
 * drained (a lingering close, RFC 9112 §9.6). */
static void on_written(struct bufferevent *bev, void *arg)
{
	struct connection *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (!c->answered)
		return;
	(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_setcb(bev, on_drain, NULL, on_event, c);
	bufferevent_enable(bev, EV_READ);
	c->lingering = true;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connection_free(arg);
}

/* At the cap, whose slot a new connection takes: the oldest of those
 * whose answer has left (they only linger), else the oldest without an
 * answer, else (every answer still being written) the oldest. */
static struct connection *eviction_victim(const struct server *server)
{
	struct connection *c;

	for (c = server->oldest; c != NULL; c = c->newer)
		if (c->lingering)
			return c;
	for (c = server->oldest; c != NULL; c = c->newer)
		if (!c->answered)
			return c;
	return server->oldest;
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd,
                      struct sockaddr *address, int length, void *arg)
{
	struct server *server = arg;
	struct timeval deadline = {SERVE_DEADLINE_SECONDS, 0};
	struct connection *c;

	(void)listener;
	(void)address;
	(void)length;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->server = server;
	c->bev =
	    bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(server->base, on_deadline, c);
	if (c->bev == NULL || c->deadline == NULL ||
	    evtimer_add(c->deadline, &deadline) != 0) {
		if (c->deadline != NULL)
			event_free(c->deadline);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	if (server->connections >= SERVE_CONNECTIONS_MAX)
		connection_free(eviction_victim(server));
	server->connections++;
	c->older = server->newest;
	if (server->newest != NULL)
		server->newest->newer = c;
	else
		server->oldest = c;
	server->newest = c;
	bufferevent_setwatermark(c->bev, EV_READ, 0, SERVE_REQUEST_MAX);
	bufferevent_setcb(c->bev, on_read, on_written, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(((struct server *)arg)->listener);
}

/* accept() failed (out of descriptors, mostly): pause, do not spin. */
static void on_accept_error(struct evconnlistener *listener, void *arg)
{
	struct server *server = arg;
	struct timeval pause = {SERVE_ACCEPT_PAUSE_SECONDS, 0};

	evconnlistener_disable(listener);
	evtimer_add(server->resume, &pause);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* The listener on host and port; on failure says why. */
static int start(struct server *server, const char *host, const char *port)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *found;
	int err;

	err = getaddrinfo(host, port, &hints, &found);
	if (err != 0)
		return ctl_error("cannot listen on %s port %s: %s", host, port,
		                 gai_strerror(err));
	server->listener = evconnlistener_new_bind(
	    server->base, on_accept, server,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    SERVE_BACKLOG, found->ai_addr, (int)found->ai_addrlen);
	err = errno;
	freeaddrinfo(found);
	if (server->listener == NULL)
		return ctl_error("cannot listen on %s port %s: %s", host, port,
		                 strerror(err));
	evconnlistener_set_error_cb(server->listener, on_accept_error);
	return CTL_EXIT_OK;
}

int ctl_cmd_serve_metrics(struct ctl *ctl)
{
	const char *wanted =
	    ctl->listen != NULL ? ctl->listen : CTL_METRICS_LISTEN;
	char *listen = strdup(wanted);
	struct server server = {.ctl = ctl};
	struct event *stop[2] = {NULL, NULL};
	const char *port;
	char *host;
	int rc = CTL_EXIT_ERROR;

	if (ctl->arg_count != 1) {
		free(listen);
		return ctl_usage_error("serve-metrics takes no argument");
	}
	if (listen == NULL)
		return ctl_error("out of memory");
	if (split_listen(listen, &host, &port) != 0) {
		rc = ctl_usage_error("--listen wants HOST:PORT or [IPV6]:PORT "
		                     "(port 1-65535), not '%s'",
		                     wanted);
		goto out;
	}
	/* A scrape reads what is there: no waiting for a first snapshot
	 * while the scraper waits. */
	ctl->snapshot_no_wait = true;
	/* A scraper that goes away mid-answer is not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	server.base = event_base_new();
	if (server.base == NULL ||
	    (server.resume = evtimer_new(server.base, on_resume, &server)) ==
	        NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if ((rc = start(&server, host, port)) != CTL_EXIT_OK)
		goto out;
	rc = CTL_EXIT_ERROR;
	stop[0] = evsignal_new(server.base, SIGTERM, on_stop, server.base);
	stop[1] = evsignal_new(server.base, SIGINT, on_stop, server.base);
	if (stop[0] == NULL || stop[1] == NULL ||
	    event_add(stop[0], NULL) != 0 || event_add(stop[1], NULL) != 0) {
		ctl_error("cannot watch for SIGTERM and SIGINT");
		goto out;
	}
	printf("turnpikectl: serving http://%s%s%s:%s/metrics\n",
	       strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", port);
	fflush(stdout);
	rc = event_base_dispatch(server.base) == 0 ? CTL_EXIT_OK
	                                           : CTL_EXIT_ERROR;
out:
	for (size_t i = 0; i < 2; i++)
		if (stop[i] != NULL)
			event_free(stop[i]);
	if (server.listener != NULL)
		evconnlistener_free(server.listener);
	if (server.resume != NULL)
		event_free(server.resume);
	/* Connections still open at the stop go with the process. */
	if (server.base != NULL)
		event_base_free(server.base);
	free(listen);
	return rc;
}
