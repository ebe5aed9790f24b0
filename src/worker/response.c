/*
 * STUN responses: one place that finishes them, one that builds errors.
 */
#include "config.h"

#include <string.h>

#include "turnpike/auth.h"
#include "turnpike/log.h"
#include "turnpike/net.h"
#include "response.h"

/* Client-caused lines are rate-limited: a flood cannot fill the disk. */
static struct log_limit error_log_limit = LOG_LIMIT_INIT(20, 1000);

void response_start(struct response *r, const struct stun_msg *request,
                    uint8_t class)
{
	stun_writer_init(&r->w, r->buf, sizeof(r->buf), request->method, class,
	                 request->transaction_id);
}

static size_t padded_attribute_size(size_t value_len)
{
	return STUN_ATTR_HEADER_SIZE + ((value_len + 3) & ~(size_t)3);
}

/* Unauthenticated: optional attributes only within the request's size. */
static void finish_within_budget(struct worker *worker, struct response *r,
                                 size_t budget)
{
	const char *software = worker->conf->software;
	bool trimmed = false;

	if (software != NULL && *software != '\0') {
		if (r->w.length + padded_attribute_size(strlen(software)) <=
		    budget)
			stun_put_string(&r->w, STUN_ATTR_SOFTWARE, software);
		else
			trimmed = true;
	}
	if (r->w.length + padded_attribute_size(4) <= budget)
		stun_put_fingerprint(&r->w);
	else
		trimmed = true;
	if (trimmed)
		worker->metrics->amplification_trimmed++;
}

static void finish_authenticated(struct worker *worker, struct response *r,
                                 const struct auth_identity *identity)
{
	const char *software = worker->conf->software;

	if (software != NULL && *software != '\0')
		stun_put_string(&r->w, STUN_ATTR_SOFTWARE, software);
	/* RFC 8489 §9.2.4: the response uses the integrity the request did. */
	if (identity->use_sha256)
		stun_put_integrity_sha256(&r->w, identity->key,
		                          identity->key_len);
	else
		stun_put_integrity(&r->w, identity->key, identity->key_len);
	stun_put_fingerprint(&r->w);
}

void response_send(struct worker *worker, const struct worker_datagram *dg,
                   struct response *r, const struct auth_identity *identity)
{
	size_t length;

	if (identity != NULL)
		finish_authenticated(worker, r, identity);
	else
		finish_within_budget(worker, r, dg->length);
	if (stun_writer_finish(&r->w, &length) != 0)
		return;
	worker_reply(worker, dg, r->buf, length);
}

/* RFC 8489 §9.2.4: a challenge names the realm, a fresh nonce bound to
 * the client's address, and the password algorithms we accept. */
static void put_challenge(struct worker *worker, struct response *r,
                          const struct worker_datagram *dg)
{
	char nonce[AUTH_NONCE_MAX];

	/* REST credentials cannot be found by USERHASH: offer it only
	 * without auth-secret. */
	auth_nonce_make(&worker->nonce_key, dg->from, worker_wall_now(),
	                worker->conf->auth_secret_count == 0, nonce);
	stun_put_string(&r->w, STUN_ATTR_REALM, worker->conf->realm);
	stun_put_string(&r->w, STUN_ATTR_NONCE, nonce);
	stun_put_password_algorithms(&r->w, auth_password_algorithms, 2);
}

void response_error(struct worker *worker, const struct worker_datagram *dg,
                    const struct stun_msg *request, uint16_t code,
                    const struct auth_identity *identity)
{
	struct response r;

	response_start(&r, request, STUN_CLASS_ERROR);
	stun_put_error(&r.w, code, stun_error_reason(code));
	if (code == 401 || code == 438) {
		put_challenge(worker, &r, dg);
		identity = NULL; /* RFC 8489 §9.2.4: no integrity on these */
		worker->metrics->auth_challenges++;
	} else if (code == 420) {
		stun_put_unknown(&r.w, request->unknown,
		                 request->unknown_count);
	}
	worker->metrics->error_responses++;
	if (log_get_level() >= LOG_DEBUG) {
		char from[NET_ADDRSTRLEN];

		log_limited(&error_log_limit, LOG_DEBUG,
		            "request refused code=%u method=%s client=%s", code,
		            stun_method_name(request->method),
		            net_addr_format(dg->from, from, sizeof(from)));
	}
	response_send(worker, dg, &r, identity);
}
