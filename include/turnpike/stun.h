/*
 * stun: the STUN (RFC 8489) and TURN (RFC 8656) message codec.
 *
 * Decoding works in place on the received datagram: no allocation, every
 * read bounds-checked. Encoding writes into a caller's bounded buffer; an
 * overflow is sticky and reported once, at stun_writer_finish().
 *
 * Functions return 0 or a positive errno value; results go through
 * out-parameters. Needs only libc and OpenSSL's libcrypto.
 */
#ifndef TURNPIKE_STUN_H
#define TURNPIKE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_SIZE      20
#define STUN_ATTR_HEADER_SIZE 4
#define STUN_MAGIC_COOKIE     0x2112A442u
#define STUN_TID_SIZE         12
#define STUN_FINGERPRINT_XOR  0x5354554Eu
#define STUN_SHA1_SIZE        20
#define STUN_SHA256_SIZE      32
#define STUN_MD5_SIZE         16
/* The largest long-term key (SHA-256). */
#define STUN_KEY_MAX 32
/* How many attributes one decoded message can hold; more is malformed. */
#define STUN_MAX_ATTRS 40
/* How many unknown comprehension-required types are remembered for 420. */
#define STUN_MAX_UNKNOWN 8
/* RFC 8489 §14.3: USERNAME is less than 513 bytes. */
#define STUN_USERNAME_MAX 512
/* RFC 8489 §14.9 and §14.10: REALM and NONCE are < 128 characters,
 * which UTF-8 may encode in up to 763 bytes. */
#define STUN_REALM_MAX_BYTES 763
#define STUN_NONCE_MAX_BYTES 763
#define STUN_REALM_MAX_CHARS 127
/* RFC 8489 §14.8: the reason phrase is < 128 characters (763 bytes). */
#define STUN_REASON_MAX_BYTES 763
/* RFC 8489 §14.14: SOFTWARE is < 128 characters (763 bytes). */
#define STUN_SOFTWARE_MAX_BYTES 763

/* RFC 8656 §12: ChannelData uses channel numbers 0x4000 through 0x4FFF. */
#define STUN_CHANNEL_MIN 0x4000
#define STUN_CHANNEL_MAX 0x4FFF
/* RFC 5766 §11 allowed up to 0x7FFF, and its clients (coturn's among them)
 * still use the whole range; the framing is the same. */
#define STUN_CHANNEL_LEGACY_MAX       0x7FFF
#define STUN_CHANNEL_DATA_HEADER_SIZE 4

/* Message classes (RFC 8489 §5), as the two class bits read together. */
enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

/* Methods: RFC 8489 §18.2 and RFC 8656 §17. */
enum stun_method {
	STUN_METHOD_BINDING = 0x001,
	STUN_METHOD_ALLOCATE = 0x003,
	STUN_METHOD_REFRESH = 0x004,
	STUN_METHOD_SEND = 0x006,
	STUN_METHOD_DATA = 0x007,
	STUN_METHOD_CREATE_PERMISSION = 0x008,
	STUN_METHOD_CHANNEL_BIND = 0x009,
};

/* Attribute types: RFC 8489 §18.3, RFC 8656 §18, RFC 8489 §14. */
enum stun_attr_type {
	/* Comprehension-required (0x0000-0x7FFF). */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_CHANNEL_NUMBER = 0x000C,
	STUN_ATTR_LIFETIME = 0x000D,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	STUN_ATTR_EVEN_PORT = 0x0018,
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_RESERVATION_TOKEN = 0x0022,
	/* ICE (RFC 8445 §16.1): known, so that a connectivity check sent to
	 * us gets an answer rather than a 420. */
	STUN_ATTR_PRIORITY = 0x0024,
	STUN_ATTR_USE_CANDIDATE = 0x0025,
	/* Comprehension-optional (0x8000-0xFFFF). */
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8032,
	STUN_ATTR_ADDRESS_ERROR_CODE = 0x8033,
	STUN_ATTR_ICMP = 0x8004,
};

/* RFC 8489 §18.5: password algorithm numbers. */
enum stun_password_algorithm {
	STUN_PASSWORD_ALGORITHM_MD5 = 0x0001,
	STUN_PASSWORD_ALGORITHM_SHA256 = 0x0002,
};

/* RFC 8656 §18.6 address families in REQUESTED-ADDRESS-FAMILY. */
#define STUN_ADDRESS_FAMILY_IPV4 0x01
#define STUN_ADDRESS_FAMILY_IPV6 0x02

/* Transport protocol numbers in REQUESTED-TRANSPORT (RFC 8656 §18.8). */
#define STUN_TRANSPORT_UDP 17
/* In store records only: the client's own transport (RFC 8656 §2). */
#define STUN_TRANSPORT_TCP 6
#define STUN_TRANSPORT_TLS 56

/* One attribute of a decoded message; its value is msg->buf + offset. */
struct stun_attr {
	uint16_t type;
	uint16_t length; /* value length, without padding */
	/* Of the value, from the start of the message. 32 bits: over a stream
	 * a message can reach 20 + 65535 bytes, past what 16 bits can say. */
	uint32_t offset;
};

/*
 * A decoded message. It borrows the datagram: buf points into the caller's
 * buffer, which must outlive it and stay unchanged.
 */
struct stun_msg {
	const uint8_t *buf;
	size_t length; /* of the whole message, header included */
	uint16_t method;
	uint8_t class;
	const uint8_t *transaction_id; /* STUN_TID_SIZE bytes, into buf */
	uint16_t attr_count;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	/* Indexes into attrs, or -1 when absent. Attributes after
	 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
	 * FINGERPRINT are ignored (RFC 8489 §14.5) and are not in attrs. */
	int16_t integrity_index;
	int16_t integrity_sha256_index;
	int16_t fingerprint_index;
	/* Comprehension-required types this codec does not know (RFC 8489
	 * §6.3.1: a request with any gets 420 with UNKNOWN-ATTRIBUTES). */
	uint8_t unknown_count;
	uint16_t unknown[STUN_MAX_UNKNOWN];
};

/*
 * Decodes a STUN message of exactly len bytes (a datagram, or a frame cut
 * from a stream with stun_frame_length()).
 * Returns 0 on success; ENOMSG when the bytes are not STUN (top two bits set,
 * or no magic cookie, or shorter than a header: try ChannelData); EBADMSG
 * when they claim to be STUN but are malformed (length field not a multiple
 * of 4 or not equal to len - 20, an attribute running past the end, too many
 * attributes, a FINGERPRINT that is not last or does not match, or a known
 * attribute whose value has an impossible size). Unknown
 * comprehension-required attributes are not an error: they are listed in
 * msg->unknown.
 */
int stun_msg_decode(struct stun_msg *msg, const uint8_t *buf, size_t len);

/* First attribute of the type, or NULL. */
const struct stun_attr *stun_msg_find(const struct stun_msg *msg,
                                      uint16_t type);

/* Value bytes of an attribute (borrowed from msg->buf). */
static inline const uint8_t *stun_attr_value(const struct stun_msg *msg,
                                             const struct stun_attr *attr)
{
	return msg->buf + attr->offset;
}

/* True for the comprehension-required range 0x0000-0x7FFF. */
static inline bool stun_attr_is_required(uint16_t type)
{
	return type < 0x8000;
}

/*
 * Typed readers. Each returns 0, or EBADMSG when the value is malformed.
 */
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (§14.2). */
int stun_attr_read_xor_address(const struct stun_msg *msg,
                               const struct stun_attr *attr,
                               struct sockaddr_storage *out);
/* MAPPED-ADDRESS, ALTERNATE-SERVER (§14.1). */
int stun_attr_read_address(const struct stun_msg *msg,
                           const struct stun_attr *attr,
                           struct sockaddr_storage *out);
/* A 32-bit value: LIFETIME, FINGERPRINT. */
int stun_attr_read_u32(const struct stun_msg *msg, const struct stun_attr *attr,
                       uint32_t *out);
/* CHANNEL-NUMBER (RFC 8656 §18.1): the number, RFFU ignored. */
int stun_attr_read_channel(const struct stun_msg *msg,
                           const struct stun_attr *attr, uint16_t *out);
/* REQUESTED-TRANSPORT: the protocol number. */
int stun_attr_read_transport(const struct stun_msg *msg,
                             const struct stun_attr *attr, uint8_t *out);
/* REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY: the family byte,
 * as sent. It is not checked here: RFC 8656 §7.2 answers a family the server
 * does not support with 440, not 400, so the caller decides. */
int stun_attr_read_family(const struct stun_msg *msg,
                          const struct stun_attr *attr, uint8_t *out);
/* EVEN-PORT: the R (reserve) bit. */
int stun_attr_read_even_port(const struct stun_msg *msg,
                             const struct stun_attr *attr, bool *reserve);
/* ERROR-CODE (§14.8) and ADDRESS-ERROR-CODE (RFC 8656 §18.12): the code
 * (300-699), and the reason phrase borrowed from the message. For
 * ADDRESS-ERROR-CODE, family receives the family byte; pass NULL for
 * ERROR-CODE. */
int stun_attr_read_error(const struct stun_msg *msg,
                         const struct stun_attr *attr, uint8_t *family,
                         uint16_t *code, const char **reason,
                         size_t *reason_len);
/* PASSWORD-ALGORITHM (§14.12): the algorithm number. */
int stun_attr_read_password_algorithm(const struct stun_msg *msg,
                                      const struct stun_attr *attr,
                                      uint16_t *algorithm);
/* PASSWORD-ALGORITHMS (§14.11): the algorithm numbers, at most max of them
 * (more are ignored), and how many were listed. */
int stun_attr_read_password_algorithms(const struct stun_msg *msg,
                                       const struct stun_attr *attr,
                                       uint16_t *algorithms, size_t max,
                                       size_t *count);
/* UNKNOWN-ATTRIBUTES (§14.13): the types, at most max of them (more are
 * ignored), and how many were listed. */
int stun_attr_read_unknown(const struct stun_msg *msg,
                           const struct stun_attr *attr, uint16_t *types,
                           size_t max, size_t *count);
/* ICMP (RFC 8656 §18.13): 8 bytes, 2 reserved, the ICMP type and code (one
 * byte each, as ICMP itself carries them), and the 32-bit error data. */
int stun_attr_read_icmp(const struct stun_msg *msg,
                        const struct stun_attr *attr, uint8_t *icmp_type,
                        uint8_t *icmp_code, uint32_t *error_data);

/*
 * Integrity (RFC 8489 §14.5 and §14.6). key is the short-term password or
 * the long-term key (stun_long_term_key()). The HMAC covers the message up
 * to the integrity attribute, with the length field rewritten to end just
 * after it; the comparison is constant-time (CRYPTO_memcmp).
 * Return 0 when it matches, EACCES when it does not, ENOENT when the
 * attribute is absent, EBADMSG when its size is wrong, ENOMEM when OpenSSL
 * could not compute the HMAC.
 * MESSAGE-INTEGRITY-SHA256 may be truncated to 16..32 bytes (multiple of 4).
 */
int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *key,
                             size_t key_len);
int stun_msg_check_integrity_sha256(const struct stun_msg *msg,
                                    const uint8_t *key, size_t key_len);

/*
 * Digests and HMAC (RFC 2104) over a list of spans, with the algorithms
 * fetched from OpenSSL once per process (digest.c). out takes
 * stun_digest_size(kind) bytes. Return 0, EINVAL for an unknown kind, or
 * ENOMEM when OpenSSL failed.
 * Keys and the inner hash are wiped from the stack after use.
 */
enum stun_digest {
	STUN_DIGEST_MD5,
	STUN_DIGEST_SHA1,
	STUN_DIGEST_SHA256,
};
struct stun_span {
	const void *data;
	size_t len;
};
size_t stun_digest_size(enum stun_digest kind);
int stun_digest(enum stun_digest kind, const struct stun_span *parts,
                size_t count, uint8_t *out);
int stun_hmac(enum stun_digest kind, const void *key, size_t key_len,
              const struct stun_span *parts, size_t count, uint8_t *out);

/* FINGERPRINT (§14.7): CRC-32 of the message before it, xor 0x5354554E. */
uint32_t stun_fingerprint(const uint8_t *buf, size_t len);

/*
 * The long-term key (RFC 8489 §9.2.2):
 * MD5(username ":" realm ":" password) or SHA-256 of the same, where the
 * strings have already been processed with OpaqueString (we take them as
 * given bytes). Writes 16 or 32 bytes to key and the size to key_len.
 * Returns 0, or EINVAL for an unknown algorithm, or ENOMEM when OpenSSL
 * could not compute the digest (MD5 is refused in FIPS mode, for one).
 */
int stun_long_term_key(uint16_t algorithm, const char *username,
                       size_t username_len, const char *realm, size_t realm_len,
                       const char *password, size_t password_len,
                       uint8_t key[STUN_KEY_MAX], size_t *key_len);
/* Both keys of a user, MD5 and SHA-256, from C strings. */
int stun_long_term_keys(const char *username, const char *realm,
                        const char *password, uint8_t key_md5[STUN_MD5_SIZE],
                        uint8_t key_sha256[STUN_SHA256_SIZE]);

/* USERHASH (§14.4): SHA-256(username ":" realm). Returns 0, or ENOMEM when
 * OpenSSL failed (out is then unusable: never compare it). */
int stun_userhash(const char *username, size_t username_len, const char *realm,
                  size_t realm_len, uint8_t out[STUN_SHA256_SIZE]);

/*
 * Encoding into a bounded buffer. Every put is a no-op once the buffer has
 * overflowed; stun_writer_finish() reports it. Attributes are padded to 4
 * bytes with zeros; the header length field is kept up to date. A put that
 * cannot be encoded at all (an address family other than AF_INET/AF_INET6,
 * a value over 65535 bytes, an error code outside 300-699, an HMAC OpenSSL
 * failed to compute) marks the writer failed the same way, so that a broken
 * message is never sent.
 */
struct stun_writer {
	uint8_t *buf;
	size_t capacity;
	size_t length;
	bool overflow;
};

/* Starts a message; tid is STUN_TID_SIZE bytes. */
void stun_writer_init(struct stun_writer *w, uint8_t *buf, size_t capacity,
                      uint16_t method, uint8_t class, const uint8_t *tid);
void stun_put_bytes(struct stun_writer *w, uint16_t type, const void *value,
                    size_t len);
void stun_put_u32(struct stun_writer *w, uint16_t type, uint32_t value);
/* A string attribute (USERNAME, REALM, NONCE, SOFTWARE, ALTERNATE-DOMAIN). */
void stun_put_string(struct stun_writer *w, uint16_t type, const char *s);
void stun_put_address(struct stun_writer *w, uint16_t type,
                      const struct sockaddr *addr);
void stun_put_xor_address(struct stun_writer *w, uint16_t type,
                          const struct sockaddr *addr);
/* ERROR-CODE with its reason phrase; NULL reason: stun_error_reason(code).
 * The phrase is cut at STUN_REASON_MAX_BYTES. */
void stun_put_error(struct stun_writer *w, uint16_t code, const char *reason);
/* ADDRESS-ERROR-CODE (RFC 8656 §18.12). */
void stun_put_address_error(struct stun_writer *w, uint8_t family,
                            uint16_t code, const char *reason);
void stun_put_channel(struct stun_writer *w, uint16_t channel);
void stun_put_transport(struct stun_writer *w, uint8_t protocol);
void stun_put_family(struct stun_writer *w, uint16_t type, uint8_t family);
void stun_put_even_port(struct stun_writer *w, bool reserve);
void stun_put_unknown(struct stun_writer *w, const uint16_t *types,
                      size_t count);
void stun_put_password_algorithm(struct stun_writer *w, uint16_t algorithm);
/* ICMP (RFC 8656 §18.13). */
void stun_put_icmp(struct stun_writer *w, uint8_t icmp_type, uint8_t icmp_code,
                   uint32_t error_data);
/* PASSWORD-ALGORITHMS with no parameters per algorithm (§14.11). */
void stun_put_password_algorithms(struct stun_writer *w,
                                  const uint16_t *algorithms, size_t count);
/* MESSAGE-INTEGRITY (HMAC-SHA1) and MESSAGE-INTEGRITY-SHA256 (32 bytes),
 * over the message so far with the length field counting the attribute
 * itself (RFC 8489 §14.5, §14.6). FINGERPRINT, if any, goes after them. */
void stun_put_integrity(struct stun_writer *w, const uint8_t *key,
                        size_t key_len);
void stun_put_integrity_sha256(struct stun_writer *w, const uint8_t *key,
                               size_t key_len);
void stun_put_fingerprint(struct stun_writer *w);
/* Returns 0 and the message size, or ENOBUFS when it did not fit. */
int stun_writer_finish(const struct stun_writer *w, size_t *len);

/*
 * ChannelData (RFC 8656 §12.4). On UDP the datagram may carry padding after
 * the data; over a stream the frame is padded to a multiple of 4.
 */
struct stun_channel_data {
	uint16_t channel;
	uint16_t length;
	const uint8_t *data; /* borrowed */
};

/* Returns 0; ENOMSG when the first two bits are not 01; EBADMSG when the
 * channel number is outside 0x4000-0x4FFF, the length runs past len, or more
 * than the 0-3 bytes of padding follow the data. */
int stun_channel_data_decode(const uint8_t *buf, size_t len,
                             struct stun_channel_data *out);
/* Writes the 4-byte header for a ChannelData message. */
void stun_channel_data_header(uint8_t header[4], uint16_t channel,
                              uint16_t length);

/*
 * Stream framing (RFC 8656 §12.5, RFC 8489 §6.2.2): given the first bytes
 * of a stream, the size of the next frame: a STUN message's 20 + length, or
 * a ChannelData's 4 + length rounded up to 4. Returns 0 and *frame_len, or
 * EAGAIN when fewer than 4 bytes are there, or EBADMSG when the bytes are
 * neither.
 */
int stun_frame_length(const uint8_t *buf, size_t len, size_t *frame_len);

/*
 * The stream reader's step: `available` bytes of a stream are waiting, of
 * which buf holds at least the first min(available, 4). Returns 0 when a
 * whole frame of *frame_len bytes (at most max) is there; EAGAIN when more
 * bytes are needed (*frame_len: the frame's size once the header is in,
 * else 0); EMSGSIZE when the header announces a frame longer than max;
 * EBADMSG when the bytes are neither STUN nor ChannelData. After EMSGSIZE
 * or EBADMSG the stream cannot be resynchronised: close it.
 */
int stun_frame_next(const uint8_t *buf, size_t available, size_t max,
                    size_t *frame_len);

/* Names for logs: "Allocate", "Binding"...; "unknown" for others. */
const char *stun_method_name(uint16_t method);
/* A client's transport (STUN_TRANSPORT_*): "udp", "tcp", "tls"; "?". */
const char *stun_transport_name(uint8_t transport);
/* The reason phrase RFC 8489 §14.8 / RFC 8656 §19 suggests for a code;
 * "Error" for codes it does not know. */
const char *stun_error_reason(uint16_t code);

#endif
