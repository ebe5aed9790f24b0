/*
 * OpenSSL server contexts for tls:// listeners.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "turnpike/tls.h"

bool tls_wanted(const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->listen_count; i++)
		if (conf->listens[i].transport == CONF_TRANSPORT_TLS)
			return true;
	return false;
}

/* "what: OpenSSL's reason" into err; empties OpenSSL's error queue so
 * that a later failure does not report this one. */
static int fail(char *err, size_t err_size, const char *what)
{
	unsigned long code = ERR_peek_last_error();
	char reason[256] = "unknown error";

	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	snprintf(err, err_size, "%s: %s", what, reason);
	ERR_clear_error();
	return EINVAL;
}

/* tls-chain: intermediates sent after the certificate. */
static int add_chain(SSL_CTX *ctx, const char *path, char *err, size_t err_size)
{
	char what[512];
	FILE *f;
	X509 *cert;
	int count = 0;

	snprintf(what, sizeof(what), "tls-chain %s", path);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_size, "%s: %s", what, strerror(errno));
		return EINVAL;
	}
	while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, cert) != 1) {
			X509_free(cert);
			fclose(f);
			return fail(err, err_size, what);
		}
		count++;
	}
	fclose(f);
	/* The loop ends on "no start line" at the end of the file. */
	ERR_clear_error();
	if (count == 0) {
		snprintf(err, err_size, "%s: no certificate in the file", what);
		return EINVAL;
	}
	return 0;
}

static int load_keys(SSL_CTX *ctx, const struct conf *conf, char *err,
                     size_t err_size)
{
	char what[512];

	snprintf(what, sizeof(what), "tls-cert %s", conf->tls_cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert) != 1)
		return fail(err, err_size, what);
	if (conf->tls_chain != NULL &&
	    add_chain(ctx, conf->tls_chain, err, err_size) != 0)
		return EINVAL;
	snprintf(what, sizeof(what), "tls-key %s", conf->tls_key);
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->tls_key, SSL_FILETYPE_PEM) !=
	    1)
		return fail(err, err_size, what);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(err, err_size, "tls-key does not match tls-cert");
	return 0;
}

static int set_protocols(SSL_CTX *ctx, const struct conf *conf, char *err,
                         size_t err_size)
{
	/* RFC 8656 §3.1 and RFC 8996: TLS 1.2 or later only. */
	if (SSL_CTX_set_min_proto_version(ctx, conf->tls_min_version == 13
	                                           ? TLS1_3_VERSION
	                                           : TLS1_2_VERSION) != 1)
		return fail(err, err_size, "tls-min-version");
	if (SSL_CTX_set_cipher_list(ctx, conf->tls_ciphers != NULL
	                                     ? conf->tls_ciphers
	                                     : TLS_DEFAULT_CIPHERS) != 1)
		return fail(err, err_size, "tls-ciphers");
	if (conf->tls_ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, conf->tls_ciphersuites) != 1)
		return fail(err, err_size, "tls-ciphersuites");
	return 0;
}

/* RFC 7443: "stun.turn" names TURN in ALPN. A client that offers other
 * protocols only is still served: many TURN clients send no ALPN at all
 * and some send "h2" to look like web traffic on port 443. */
static int select_alpn(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x09stun.turn";
	unsigned char *selected;

	if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in,
	                          inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}

static void set_options(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE |
	                             SSL_OP_NO_COMPRESSION);
	/* Idle connections keep no 34 KiB of record buffers each: a
	 * thousand waiting TLS clients must stay cheap. The price is an
	 * allocation per record when a connection's buffer runs empty
	 * between records, as it does with sparse media. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Each worker has its own context: a session cached in one is of no
	 * use to the others, and the cache would be memory per client. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
}

int tls_context_new(const struct conf *conf, SSL_CTX **out, char *err,
                    size_t err_size)
{
	SSL_CTX *ctx;
	int rc;

	if (conf->tls_cert == NULL || conf->tls_key == NULL) {
		snprintf(err, err_size, "tls-cert and tls-key are needed");
		return EINVAL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		fail(err, err_size, "SSL_CTX_new");
		return ENOMEM;
	}
	set_options(ctx);
	rc = set_protocols(ctx, conf, err, err_size);
	if (rc == 0)
		rc = load_keys(ctx, conf, err, err_size);
	if (rc != 0) {
		SSL_CTX_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int tls_check(const struct conf *conf, char *err, size_t err_size)
{
	SSL_CTX *ctx;

	if (!tls_wanted(conf))
		return 0;
	if (tls_context_new(conf, &ctx, err, err_size) != 0)
		return EINVAL;
	SSL_CTX_free(ctx);
	return 0;
}

const char *tls_context_fingerprint(SSL_CTX *ctx, char *buf, size_t size)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	X509 *cert = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;

	snprintf(buf, size, "?");
	if (cert == NULL || X509_digest(cert, EVP_sha256(), digest, &len) != 1)
		return buf;
	for (i = 0; i < len && 3 * (size_t)i + 3 <= size; i++)
		snprintf(buf + 3 * i, size - 3 * i,
		         i + 1 < len ? "%02X:" : "%02X", digest[i]);
	return buf;
}
