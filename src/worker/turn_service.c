/*
 * STUN and TURN requests and indications (RFC 8489, RFC 8656): the turn
 * module decides, this file authenticates, applies and answers.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "turnpike/store.h"
#include "allocation.h"
#include "relay.h"
#include "response.h"

/* A request as the handlers see it. */
struct request {
	struct worker *worker;
	const struct worker_datagram *dg;
	const struct stun_msg *msg;
	struct allocation *allocation; /* of the 5-tuple, or NULL */
	struct auth_identity identity; /* once authenticated */
	uint64_t now;
	/* The allocation's owner asked with revoked credentials: it ends
	 * once the 401 is answered. */
	bool revoked;
};

static void answer_binding(struct request *req)
{
	struct response r;

	/* RFC 8489 §7.3.1: the reflexive address, no authentication. */
	response_start(&r, req->msg, STUN_CLASS_SUCCESS);
	stun_put_xor_address(&r.w, STUN_ATTR_XOR_MAPPED_ADDRESS, req->dg->from);
	req->worker->metrics->binding_requests++;
	response_send(req->worker, req->dg, &r, NULL);
}

static void keys_of(const struct store_user *user, struct auth_user_keys *out)
{
	memcpy(out->key_md5, user->key_md5, sizeof(out->key_md5));
	memcpy(out->key_sha256, user->key_sha256, sizeof(out->key_sha256));
}

/* The users of the store's database (turnpikectl users), read at each
 * request so that a change needs no reload; keys made for another realm
 * cannot match ours. */
static int lookup_store_user(void *arg, const char *name, size_t name_len,
                             struct auth_user_keys *out)
{
	const struct worker *worker = arg;
	struct store_user user;
	char key[STORE_NAME_MAX];
	int err;

	if (worker->store == NULL || name_len == 0 || name_len >= sizeof(key) ||
	    memchr(name, '\0', name_len) != NULL)
		return ENOENT;
	memcpy(key, name, name_len);
	key[name_len] = '\0';
	err = store_user_get(worker->store, key, &user);
	if (err == EINVAL) /* longer than a store key: no such user */
		err = ENOENT;
	if (err == 0 && strcmp(user.realm, worker->conf->realm) != 0)
		err = ENOENT;
	if (err == 0)
		keys_of(&user, out);
	explicit_bzero(&user, sizeof(user));
	return err;
}

/* The same users by USERHASH, through the store's index, which is made
 * with each user's own realm: one of another realm is not found. */
static int lookup_store_userhash(void *arg,
                                 const uint8_t hash[STUN_SHA256_SIZE],
                                 char *name, size_t name_size,
                                 struct auth_user_keys *out)
{
	const struct worker *worker = arg;
	struct store_user user;
	int err;

	if (worker->store == NULL)
		return ENOENT;
	err = store_user_get_by_hash(worker->store, hash, worker->conf->realm,
	                             &user);
	if (err == 0 && strlen(user.name) >= name_size)
		err = ENOENT;
	if (err == 0) {
		memcpy(name, user.name, strlen(user.name) + 1);
		keys_of(&user, out);
	}
	explicit_bzero(&user, sizeof(user));
	return err;
}

/* The request's NONCE is one we gave to its source address, within
 * nonce-lifetime: the client received our 401 there, so the address is
 * not forged. The credentials are judged before the nonce (RFC 8489
 * §9.2.4), so a failure alone proves nothing about the source. */
static bool nonce_proves_source(const struct request *req)
{
	const struct stun_attr *attr = stun_msg_find(req->msg, STUN_ATTR_NONCE);

	return attr != NULL &&
	       auth_nonce_check(&req->worker->nonce_key, req->dg->from,
	                        stun_attr_value(req->msg, attr), attr->length,
	                        worker_wall_now(),
	                        req->worker->conf->nonce_lifetime) == 0;
}

/* Wrong credentials, at notice, for the operator and for tools such as
 * fail2ban that ban a source after repeated failures. Only from a source
 * that our nonce proves: else one forged datagram would put any address
 * in the log, and a ban tool would ban it. A request without credentials
 * (the first of every client) or with a stale nonce is the protocol
 * working, not a failure. Rate limited all the same. */
static void log_auth_failure(const struct request *req)
{
	static struct log_limit limit = LOG_LIMIT_INIT(20, 100);
	const struct stun_attr *attr;
	char from[NET_ADDRSTRLEN], name[STUN_USERNAME_MAX + 1] = "";
	size_t length, i;

	if (log_get_level() < LOG_NOTICE || !nonce_proves_source(req) ||
	    !log_limit_take(&limit, LOG_NOTICE))
		return;
	attr = stun_msg_find(req->msg, STUN_ATTR_USERNAME);
	if (attr != NULL) {
		length = attr->length < sizeof(name) - 1 ? attr->length
		                                         : sizeof(name) - 1;
		memcpy(name, stun_attr_value(req->msg, attr), length);
		/* A NUL would cut the name short: shown as log_quote()
		 * shows other control characters. */
		for (i = 0; i < length; i++)
			if (name[i] == '\0')
				name[i] = '?';
		name[length] = '\0';
	}
	log_limit_write(&limit, LOG_NOTICE,
	                "authentication failed client=%s user=%s method=%s",
	                net_addr_format(req->dg->from, from, sizeof(from)),
	                LOG_QUOTED(name), stun_method_name(req->msg->method));
}

static int authenticate(struct request *req)
{
	struct auth_context ctx = {
	    .conf = req->worker->conf,
	    .nonce_key = &req->worker->nonce_key,
	    .client = req->dg->from,
	    .now = worker_wall_now(),
	    .lookup_user = lookup_store_user,
	    .lookup_userhash = lookup_store_userhash,
	    .lookup_arg = req->worker,
	};
	int code;

	/* RFC 8656 §5: every request on an allocation must come from the
	 * user that made it. */
	if (req->allocation != NULL &&
	    req->msg->method != STUN_METHOD_ALLOCATE) {
		code = auth_check_same_user(&ctx, req->msg,
		                            &req->allocation->owner);
		if (code == 0)
			req->identity = req->allocation->owner;
	} else {
		code = auth_check_request(&ctx, req->msg, &req->identity);
	}
	if (code == 0)
		return 0;
	/* Nothing of a failed check may sign the error response. */
	memset(&req->identity, 0, sizeof(req->identity));
	if (code == 401 && (req->msg->integrity_index >= 0 ||
	                    req->msg->integrity_sha256_index >= 0)) {
		req->worker->metrics->auth_failures++;
		log_auth_failure(req);
		req->revoked = req->allocation != NULL &&
		               req->msg->method != STUN_METHOD_ALLOCATE &&
		               auth_signed_by_owner(&ctx, req->msg,
		                                    &req->allocation->owner);
	}
	return code;
}

/* The success response to Allocate, also resent for a retransmission of
 * the request that made the allocation (RFC 8656 §7.2). */
static void answer_allocate(struct request *req, struct allocation *a,
                            const struct turn_allocate_request *parsed)
{
	struct worker_datagram via = *req->dg;
	struct response r;
	size_t i;

	response_start(&r, req->msg, STUN_CLASS_SUCCESS);
	for (i = 0; i < 2; i++) {
		if (a->relay[i].fd >= 0)
			stun_put_xor_address(
			    &r.w, STUN_ATTR_XOR_RELAYED_ADDRESS,
			    (const struct sockaddr *)&a->relayed[i]);
	}
	if (parsed != NULL && parsed->partial_family)
		stun_put_address_error(&r.w, parsed->missing_family, 440,
		                       stun_error_reason(440));
	stun_put_u32(&r.w, STUN_ATTR_LIFETIME,
	             (uint32_t)(a->turn.expires > req->now
	                            ? a->turn.expires - req->now
	                            : 0));
	if (a->has_reservation_token) {
		uint8_t token[8];
		uint64_t t = a->reservation_token;

		for (i = 0; i < 8; i++)
			token[i] = (uint8_t)(t >> (56 - 8 * i));
		stun_put_bytes(&r.w, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	}
	stun_put_xor_address(&r.w, STUN_ATTR_XOR_MAPPED_ADDRESS, req->dg->from);
	/* The response leaves through the allocation's own socket. */
	via.socket = &a->client_socket;
	response_send(req->worker, &via, &r, &a->owner);
}

static int handle_allocate(struct request *req)
{
	struct turn_allocate_request parsed;
	struct allocation_params params;
	struct allocation *a;
	int code;

	/* RFC 8656 §7.2: a 5-tuple already allocated gets 437, unless this is
	 * a retransmission of the request that created it. */
	if (req->allocation != NULL) {
		if (memcmp(req->allocation->allocate_tid,
		           req->msg->transaction_id, STUN_TID_SIZE) != 0)
			return 437;
		answer_allocate(req, req->allocation, NULL);
		return 0;
	}
	/* A draining worker (SIGQUIT) takes no new allocations. */
	if (req->worker->draining)
		return 508;
	code = turn_allocate_parse(req->worker->conf, req->msg, &parsed);
	if (code != 0)
		return code;
	params = (struct allocation_params){
	    .listener = req->dg->socket->kind == WORKER_SOCKET_LISTENER
	                    ? req->dg->socket
	                    : req->dg->socket->listener,
	    .stream = req->dg->socket->stream,
	    .local = req->dg->local,
	    .client = req->dg->from,
	    .request = &parsed,
	    .owner = &req->identity,
	    .tid = req->msg->transaction_id,
	    .lifetime = turn_lifetime_grant(
	        req->worker->conf, parsed.has_lifetime, parsed.lifetime),
	    .now = req->now,
	};
	code = allocation_create(req->worker, &params, &a);
	if (code != 0)
		return code;
	answer_allocate(req, a, &parsed);
	return 0;
}

/* RFC 8656 §7.3 (Refresh) and §7.3's REQUESTED-ADDRESS-FAMILY check. */
static int handle_refresh(struct request *req)
{
	const struct stun_attr *attr;
	struct allocation *a = req->allocation;
	struct response r;
	uint32_t requested = 0, granted;
	uint8_t family;

	attr = stun_msg_find(req->msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	if (attr != NULL) {
		if (stun_attr_read_family(req->msg, attr, &family) != 0)
			return 400;
		if (a->relay[family == STUN_ADDRESS_FAMILY_IPV6 ? 1 : 0].fd < 0)
			return 443;
	}
	attr = stun_msg_find(req->msg, STUN_ATTR_LIFETIME);
	if (attr != NULL && stun_attr_read_u32(req->msg, attr, &requested) != 0)
		return 400;
	granted = (attr != NULL && requested == 0)
	              ? 0
	              : turn_lifetime_grant(req->worker->conf, attr != NULL,
	                                    requested);
	/* The record goes first: once the client reads the answer its quota
	 * must already be free. */
	if (granted == 0 && a->recorded) {
		allocation_record_delete(a);
		a->recorded = false;
	}
	response_start(&r, req->msg, STUN_CLASS_SUCCESS);
	stun_put_u32(&r.w, STUN_ATTR_LIFETIME, granted);
	response_send(req->worker, req->dg, &r, &req->identity);
	if (granted == 0) {
		allocation_free(a, ALLOCATION_RELEASED);
		req->allocation = NULL;
		return 0;
	}
	a->turn.expires = req->now + granted;
	if (allocation_reschedule(a, req->now))
		allocation_record_update(a);
	return 0;
}

/* A peer the policy refuses, at info: WebRTC clients ask for their
 * counterpart's private host candidates on every call, but an operator
 * answering an abuse report wants to see who asked for what. */
static void log_peer_refused(const struct request *req,
                             const struct sockaddr *peer)
{
	static struct log_limit limit = LOG_LIMIT_INIT(50, 20);
	char from[NET_ADDRSTRLEN], to[NET_ADDRSTRLEN];

	if (!log_limit_take(&limit, LOG_INFO))
		return;
	log_limit_write(&limit, LOG_INFO,
	                "peer refused user=%s client=%s peer=%s method=%s",
	                LOG_QUOTED(req->identity.username),
	                net_addr_format(req->dg->from, from, sizeof(from)),
	                net_addr_format(peer, to, sizeof(to)),
	                stun_method_name(req->msg->method));
}

/* Reads a peer address and checks it against the allocation's families
 * (443, RFC 8656 §9.1) and the peer policy (403, DESIGN.md section 3). */
static int read_peer(struct request *req, const struct stun_attr *attr,
                     struct sockaddr_storage *peer)
{
	if (stun_attr_read_xor_address(req->msg, attr, peer) != 0)
		return 400;
	if (allocation_relay_for(req->allocation,
	                         (const struct sockaddr *)peer) == NULL)
		return 443;
	if (!turn_peer_allowed(&req->worker->peer_policy,
	                       (const struct sockaddr *)peer)) {
		req->worker->metrics->peer_denied++;
		log_peer_refused(req, (const struct sockaddr *)peer);
		return 403;
	}
	return 0;
}

/* After a permission or channel changed: the next expiry, the record,
 * and an empty success response. */
static int answer_changed(struct request *req)
{
	struct response r;

	if (allocation_reschedule(req->allocation, req->now))
		allocation_record_update(req->allocation);
	response_start(&r, req->msg, STUN_CLASS_SUCCESS);
	response_send(req->worker, req->dg, &r, &req->identity);
	return 0;
}

/* RFC 8656 §9.2: every XOR-PEER-ADDRESS must be acceptable before any
 * permission is installed. */
static int handle_create_permission(struct request *req)
{
	struct sockaddr_storage peers[TURN_MAX_PERMISSIONS];
	size_t count = 0, i;
	int code;

	for (i = 0; i < req->msg->attr_count; i++) {
		const struct stun_attr *attr = &req->msg->attrs[i];

		if (attr->type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		if (count == TURN_MAX_PERMISSIONS)
			return 508;
		code = read_peer(req, attr, &peers[count]);
		if (code != 0)
			return code;
		count++;
	}
	if (count == 0)
		return 400;
	for (i = 0; i < count; i++) {
		const struct sockaddr *peer = (struct sockaddr *)&peers[i];
		bool had = turn_permission_allows(&req->allocation->turn, peer,
		                                  req->now);

		code = turn_permission_install(&req->allocation->turn, peer,
		                               req->now);
		if (code != 0)
			return code;
		if (!had)
			allocation_log_permission(req->allocation, peer,
			                          "CreatePermission");
	}
	return answer_changed(req);
}

/* RFC 8656 §11.2. */
static int handle_channel_bind(struct request *req)
{
	const struct stun_attr *number_attr, *peer_attr;
	struct sockaddr_storage peer;
	uint16_t number;
	bool had;
	int code;

	number_attr = stun_msg_find(req->msg, STUN_ATTR_CHANNEL_NUMBER);
	peer_attr = stun_msg_find(req->msg, STUN_ATTR_XOR_PEER_ADDRESS);
	if (number_attr == NULL || peer_attr == NULL ||
	    stun_attr_read_channel(req->msg, number_attr, &number) != 0)
		return 400;
	code = read_peer(req, peer_attr, &peer);
	if (code != 0)
		return code;
	had = turn_permission_allows(&req->allocation->turn,
	                             (struct sockaddr *)&peer, req->now);
	code = turn_channel_bind(&req->allocation->turn, number,
	                         (struct sockaddr *)&peer, req->now);
	if (code != 0)
		return code;
	if (!had)
		allocation_log_permission(
		    req->allocation, (struct sockaddr *)&peer, "ChannelBind");
	return answer_changed(req);
}

static int handle_request(struct request *req)
{
	int code;

	/* RFC 8489 §6.3.1: unknown comprehension-required attributes. */
	if (req->msg->unknown_count > 0)
		return 420;
	if (req->msg->method == STUN_METHOD_BINDING) {
		answer_binding(req);
		return 0;
	}
	code = authenticate(req);
	if (code != 0)
		return code;
	switch (req->msg->method) {
	case STUN_METHOD_ALLOCATE:
		return handle_allocate(req);
	case STUN_METHOD_REFRESH:
	case STUN_METHOD_CREATE_PERMISSION:
	case STUN_METHOD_CHANNEL_BIND:
		/* RFC 8656 §7.3, §9.2, §11.2: no allocation on this 5-tuple. */
		if (req->allocation == NULL)
			return 437;
		if (req->msg->method == STUN_METHOD_REFRESH)
			return handle_refresh(req);
		if (req->msg->method == STUN_METHOD_CREATE_PERMISSION)
			return handle_create_permission(req);
		return handle_channel_bind(req);
	default:
		return 400;
	}
}

/* RFC 8656 §10.2: a Send indication without a permission or with a bad
 * attribute is silently dropped. relay.c batches those from a client
 * with an allocation; this serves the rest: a UDP client's that reached
 * the listener (strays), and any without an allocation (only counted). */
static void handle_send(struct request *req)
{
	struct sockaddr_storage peer;
	struct relay_target target;

	if (req->allocation == NULL) {
		req->worker->metrics->drop_send_denied++;
		return;
	}
	target = relay_send_target(req->allocation, req->msg, req->now, &peer);
	if (target.relay != NULL)
		relay_to_peer(req->allocation, target.relay, target.peer,
		              target.data, target.length);
}

bool worker_handle_stun(struct worker *worker, const struct worker_datagram *dg,
                        const struct stun_msg *msg,
                        struct allocation *allocation)
{
	struct request req = {
	    .worker = worker,
	    .dg = dg,
	    .msg = msg,
	    .allocation = allocation,
	    .now = worker_now(),
	};
	int code;

	if (msg->class == STUN_CLASS_REQUEST) {
		code = handle_request(&req);
		if (code != 0)
			response_error(worker, dg, msg, (uint16_t)code,
			               req.identity.key_len > 0 ? &req.identity
			                                        : NULL);
		if (req.revoked) {
			allocation_free(req.allocation, ALLOCATION_REVOKED);
			req.allocation = NULL;
		}
		return req.allocation == allocation;
	}
	if (msg->class == STUN_CLASS_INDICATION &&
	    msg->method == STUN_METHOD_SEND) {
		handle_send(&req);
		return true;
	}
	if (msg->class == STUN_CLASS_INDICATION &&
	    msg->method == STUN_METHOD_BINDING) {
		/* RFC 8489 §6.3.2: keeps NAT bindings alive; no answer. */
		worker->metrics->binding_indications++;
		return true;
	}
	worker->metrics->rx_unexpected++;
	return true;
}
