/*
 * An allocation's life in the log (turnpiked(8), LOGGING): one line when
 * it is made and one when it ends, with why, how long it lived and what
 * it relayed each way, which is what an operator needs for accounting and
 * for answering an abuse report. Written at allocation-rate events only,
 * never on the packet path; the counts come from allocation->usage, kept
 * once per batch.
 *
 * The created lines are rate limited as every line a client can cause
 * is: an authenticated user can still churn allocations as fast as its
 * quota lets it. The next line that passes says how many were held back
 * (suppressed=N), and so does a line at the worker's exit. An allocation
 * whose created line was written always gets its ended line, so the
 * lines come in pairs and their volume is bounded by the first's.
 */
#include "config.h"

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "allocation.h"
#include "stream.h"

/* 500 at once, then 500 a second per worker: far above the churn of a
 * busy relay, far below what fills a disk. */
static struct log_limit created_log_limit = LOG_LIMIT_INIT(500, 2);

static const char *const end_reasons[] = {
    [ALLOCATION_EXPIRED] = "expired", [ALLOCATION_RELEASED] = "released",
    [ALLOCATION_CLOSED] = "closed",   [ALLOCATION_SHUTDOWN] = "shutdown",
    [ALLOCATION_REVOKED] = "revoked",
};

/* The fields both lines start with. */
struct session_fields {
	const char *transport;
	char client[NET_ADDRSTRLEN];
	char listener[NET_ADDRSTRLEN];
	char relayed[NET_ADDR_LIST_MAX];
};

static void session_fields(const struct allocation *a, struct session_fields *f)
{
	const struct stream_conn *stream = a->client_socket.stream;

	f->transport = stun_transport_name(
	    stream == NULL ? STUN_TRANSPORT_UDP : stream_transport(stream));
	net_addr_format((const struct sockaddr *)&a->client, f->client,
	                sizeof(f->client));
	net_addr_format((const struct sockaddr *)&a->client_socket.local,
	                f->listener, sizeof(f->listener));
	/* An allocation without a relay of a family has that address
	 * zeroed (calloc): AF_UNSPEC. */
	net_addr_list_format(a->relayed, 2, f->relayed, sizeof(f->relayed));
}

void allocation_log_created(struct allocation *a)
{
	struct session_fields f;

	if (!log_limit_take(&created_log_limit, LOG_INFO))
		return;
	a->logged = true;
	session_fields(a, &f);
	log_limit_write(&created_log_limit, LOG_INFO,
	                "allocation created user=%s transport=%s client=%s "
	                "listener=%s relayed=%s lifetime=%llu",
	                LOG_QUOTED(a->owner.username), f.transport, f.client,
	                f.listener, f.relayed,
	                (unsigned long long)(a->turn.expires - a->created));
}

void allocation_log_ended(const struct allocation *a, enum allocation_end why)
{
	const struct allocation_usage *to_peer = &a->usage[LIMITER_TO_PEER];
	const struct allocation_usage *to_client = &a->usage[LIMITER_TO_CLIENT];
	struct session_fields f;

	/* A reload may have raised the level since. */
	if (!a->logged || log_get_level() < LOG_INFO)
		return;
	session_fields(a, &f);
	log_msg(LOG_INFO,
	        "allocation ended user=%s transport=%s client=%s "
	        "listener=%s relayed=%s reason=%s duration=%llu "
	        "to-peer-packets=%llu to-peer-bytes=%llu "
	        "to-client-packets=%llu to-client-bytes=%llu",
	        LOG_QUOTED(a->owner.username), f.transport, f.client,
	        f.listener, f.relayed, end_reasons[why],
	        (unsigned long long)(worker_now() - a->created),
	        (unsigned long long)to_peer->packets,
	        (unsigned long long)to_peer->bytes,
	        (unsigned long long)to_client->packets,
	        (unsigned long long)to_client->bytes);
}

void allocation_log_permission(const struct allocation *a,
                               const struct sockaddr *peer, const char *method)
{
	/* A few per allocation, bounded by TURN_MAX_PERMISSIONS, but a
	 * client may cycle through peers: a bucket of its own. */
	static struct log_limit limit = LOG_LIMIT_INIT(500, 2);
	struct session_fields f;
	char to[NET_ADDRSTRLEN];

	if (!a->logged || !log_limit_take(&limit, LOG_INFO))
		return;
	session_fields(a, &f);
	log_limit_write(&limit, LOG_INFO,
	                "permission created user=%s transport=%s client=%s "
	                "relayed=%s peer=%s method=%s",
	                LOG_QUOTED(a->owner.username), f.transport, f.client,
	                f.relayed, net_addr_format(peer, to, sizeof(to)),
	                method);
}

void allocation_log_flush(void)
{
	if (created_log_limit.suppressed == 0)
		return;
	log_info("allocation lines suppressed allocations=%llu",
	         (unsigned long long)created_log_limit.suppressed);
	created_log_limit.suppressed = 0;
}
