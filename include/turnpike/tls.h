/*
 * tls: the server side of TURN over TLS (RFC 8656 §3.1). Builds OpenSSL
 * contexts from the configuration; no sockets, no event loop. A worker
 * holds one context for new connections; a reload builds a fresh one and
 * swaps it in, while live connections keep the context they started with
 * (each SSL object holds a reference to its SSL_CTX).
 */
#ifndef TURNPIKE_TLS_H
#define TURNPIKE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "turnpike/conf.h"

/* The cipher list for TLS 1.2 when tls-ciphers is not set: forward
 * secrecy and AEAD only (RFC 9325 §4.2). */
#define TLS_DEFAULT_CIPHERS                                                    \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"

/* True when conf has a tls:// listener. */
bool tls_wanted(const struct conf *conf);

/*
 * Builds a server context from tls-cert (with any chain after the
 * certificate in the same file), tls-key, tls-chain, tls-ciphers,
 * tls-ciphersuites and tls-min-version. Returns 0 and *out (owned: free
 * with SSL_CTX_free()), or EINVAL (ENOMEM) with one line in err naming
 * the file or the key and OpenSSL's reason; *out is left alone.
 */
int tls_context_new(const struct conf *conf, SSL_CTX **out, char *err,
                    size_t err_size);

/* Without a tls:// listener 0; else builds a context from conf and frees
 * it: 0, or EINVAL with the reason in err (turnpiked -t and start). */
int tls_check(const struct conf *conf, char *err, size_t err_size);

/* The SHA-256 fingerprint of the context's certificate as "AB:CD:...",
 * for logs; "?" when there is none. buf holds at least 96 bytes. */
const char *tls_context_fingerprint(SSL_CTX *ctx, char *buf, size_t size);

#endif
