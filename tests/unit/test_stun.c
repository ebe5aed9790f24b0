/*
 * Unit tests of the stun codec: RFC 5769 and RFC 8489 Appendix B vectors
 * byte for byte, round trips of every attribute, malformed input, the
 * writer's overflow, ChannelData and stream framing.
 *
 * This file: the RFC 5769 and RFC 8489 Appendix B vectors, and the helpers
 * the other files share (test_stun.h). Round trips, the writer, integrity,
 * ChannelData and names are in test_stun_roundtrip.c, malformed input in
 * test_stun_malformed.c, stream framing in test_stun_frame.c, digests and
 * HMAC in test_stun_digest.c; the five files make one program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "turnpike/stun.h"
#include "test_stun.h"

/* RFC 5769 §2.1: sample request, short-term password below. */
const char rfc5769_request[] =
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573"
    "7420636c69656e74002400046e0001ff80290008932ff9b151263b3600060009"
    "6576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249"
    "c1b571a280280004e57a3bcf";
/* RFC 5769 §2.2: IPv4 response, 192.0.2.1 port 32853. */
const char rfc5769_v4[] =
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563"
    "746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f9"
    "2af9ba53f06be7d780280004c07d4c96";
/* RFC 5769 §2.3: IPv6 response, 2001:db8:1234:5678:11:2233:4455:6677. */
const char rfc5769_v6[] =
    "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563"
    "746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014"
    "a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c";
/* RFC 5769 §2.4: request with long-term authentication. */
const char rfc5769_long_term[] =
    "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383"
    "aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c3334"
    "6f4c394653547679363473410014000b6578616d706c652e6f72670000080014"
    "f67024656dd64a3e02b8e0712e85c9a28ca89666";
/*
 * RFC 8489 Appendix B.1 as corrected by erratum 6268
 * (https://www.rfc-editor.org/errata/eid6268). The published vector cannot
 * be decoded: its length field says 0x9c for 0x88 bytes of attributes, and
 * its HMAC was computed over that header as is (it verifies only with the
 * length left at 0x9c, against §14.6's adjustment). The erratum's bytes,
 * used here, have length 0x90, add the PASSWORD-ALGORITHM (SHA-256) that
 * goes with the SHA-256 key, and carry the HMAC recomputed over them. They
 * are the bytes public implementations test against (e.g. the flashbang
 * Rust crate); the HMAC was also checked independently with Python's hmac.
 */
const char rfc8489_b1[] =
    "000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bd"
    "a952c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61"
    "744a6f733241414143662f2f3439396b39353464364f4c33346f4c3946535476"
    "79363473410000000014000b6578616d706c652e6f726700001d000400020000"
    "001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c43149309278c"
    "c6518e65";

static const char short_term_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define PW     ((const uint8_t *)short_term_password)
#define PW_LEN (sizeof(short_term_password) - 1)

/* "マトリックス" (U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9) in UTF-8. */
static const char matrix_user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa"
                                  "\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
const uint8_t tid[STUN_TID_SIZE] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                    0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned int byte;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		cr_assert(n < cap);
		cr_assert(sscanf(hex, "%2x", &byte) == 1);
		out[n++] = (uint8_t)byte;
	}
	return n;
}

/* Decodes hex into buf and then into msg, asserting success. */
static size_t load(const char *hex, uint8_t *buf, size_t cap,
                   struct stun_msg *msg)
{
	size_t len = unhex(hex, buf, cap);

	OK(stun_msg_decode(msg, buf, len));
	return len;
}

bool attr_is(const struct stun_msg *msg, uint16_t type, const void *value,
             size_t len)
{
	const struct stun_attr *attr = stun_msg_find(msg, type);

	return attr != NULL && attr->length == len &&
	       memcmp(stun_attr_value(msg, attr), value, len) == 0;
}

struct sockaddr_storage make_addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		cr_assert(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

void assert_same_addr(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b)
{
	size_t size = a->ss_family == AF_INET ? sizeof(struct sockaddr_in)
	                                      : sizeof(struct sockaddr_in6);

	cr_assert_eq(a->ss_family, b->ss_family);
	cr_assert(memcmp(a, b, size) == 0);
}

/* The writer finished and produced exactly want. */
static void assert_wrote(const struct stun_writer *w, const uint8_t *want,
                         size_t want_len)
{
	size_t len = 0;

	OK(stun_writer_finish(w, &len));
	cr_assert_eq(len, want_len);
	cr_assert_arr_eq(w->buf, want, len);
}

/* The long-term key of RFC 5769 §2.4 and RFC 8489 B.1; the password
 * "TheMatrIX" is already OpaqueString-processed. */
static size_t matrix_key(uint16_t algorithm, uint8_t key[STUN_KEY_MAX])
{
	size_t key_len = 0;

	OK(stun_long_term_key(algorithm, matrix_user, 18, "example.org", 11,
	                      "TheMatrIX", 9, key, &key_len));
	return key_len;
}

/* Starts a Binding request with the RFC 5769 transaction ID. */
void start_request(struct stun_writer *w, uint8_t *buf, size_t cap)
{
	stun_writer_init(w, buf, cap, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
	                 tid);
}

/* Finishes the message and decodes it back. */
int finish_decode(struct stun_writer *w, struct stun_msg *msg)
{
	size_t len = 0;

	OK(stun_writer_finish(w, &len));
	return stun_msg_decode(msg, w->buf, len);
}

/* RFC 5769 pads with 0x20 to show that padding is ignored on receipt; our
 * writer pads with zeros (RFC 8489 §14). To rebuild the vectors byte for
 * byte, the test overwrites the padding of the attribute just put. */
static void pad_with_spaces(struct stun_writer *w, size_t n)
{
	memset(w->buf + w->length - n, 0x20, n);
}

Test(rfc5769, sample_request_decodes_and_verifies)
{
	uint8_t buf[256];
	struct stun_msg msg;
	const uint8_t controlled[] = {0x93, 0x2f, 0xf9, 0xb1,
	                              0x51, 0x26, 0x3b, 0x36};
	uint32_t fp;

	load(rfc5769_request, buf, sizeof(buf), &msg);
	cr_assert_eq(msg.method, STUN_METHOD_BINDING);
	cr_assert_eq(msg.class, STUN_CLASS_REQUEST);
	cr_assert(memcmp(msg.transaction_id, tid, STUN_TID_SIZE) == 0);
	cr_assert(attr_is(&msg, STUN_ATTR_SOFTWARE, "STUN test client", 16));
	cr_assert(attr_is(&msg, STUN_ATTR_USERNAME, "evtj:h6vY", 9));
	cr_assert(attr_is(&msg, 0x8029, controlled, 8)); /* ICE-CONTROLLED */
	/* PRIORITY (0x0024) is ICE's and known, so no 420 for a check. */
	cr_assert_eq(msg.unknown_count, 0);
	cr_assert(stun_msg_find(&msg, STUN_ATTR_PRIORITY) != NULL);
	OK(stun_msg_check_integrity(&msg, PW, PW_LEN));
	FAILS(stun_msg_check_integrity(&msg, (const uint8_t *)"x", 1), EACCES);
	FAILS(stun_msg_check_integrity_sha256(&msg, buf, 4), ENOENT);
	cr_assert_geq(msg.fingerprint_index, 0);
	OK(stun_attr_read_u32(&msg, &msg.attrs[msg.fingerprint_index], &fp));
	cr_assert_eq(fp, stun_fingerprint(buf, msg.length - 8));
}

static void check_response(const char *hex, const char *ip)
{
	uint8_t buf[256];
	struct stun_msg msg;
	struct sockaddr_storage got, want = make_addr(ip, 32853);
	const struct stun_attr *attr;

	load(hex, buf, sizeof(buf), &msg);
	cr_assert_eq(msg.method, STUN_METHOD_BINDING);
	cr_assert_eq(msg.class, STUN_CLASS_SUCCESS);
	cr_assert(attr_is(&msg, STUN_ATTR_SOFTWARE, "test vector", 11));
	attr = stun_msg_find(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS);
	cr_assert_not_null(attr);
	OK(stun_attr_read_xor_address(&msg, attr, &got));
	assert_same_addr(&got, &want);
	OK(stun_msg_check_integrity(&msg, PW, PW_LEN));
	cr_assert_geq(msg.fingerprint_index, 0);
	cr_assert_eq(msg.unknown_count, 0);
}

Test(rfc5769, ipv4_response_decodes_and_verifies)
{
	check_response(rfc5769_v4, "192.0.2.1");
}

Test(rfc5769, ipv6_response_decodes_and_verifies)
{
	check_response(rfc5769_v6, "2001:db8:1234:5678:11:2233:4455:6677");
}

static void reencode_response(const char *hex, const char *ip)
{
	uint8_t want[256], out[256];
	size_t want_len = unhex(hex, want, sizeof(want));
	struct sockaddr_storage addr = make_addr(ip, 32853);
	struct stun_writer w;

	stun_writer_init(&w, out, sizeof(out), STUN_METHOD_BINDING,
	                 STUN_CLASS_SUCCESS, tid);
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "test vector");
	pad_with_spaces(&w, 1);
	stun_put_xor_address(&w, STUN_ATTR_XOR_MAPPED_ADDRESS,
	                     (const struct sockaddr *)&addr);
	stun_put_integrity(&w, PW, PW_LEN);
	stun_put_fingerprint(&w);
	assert_wrote(&w, want, want_len);
}

Test(rfc5769, ipv4_response_reencodes_byte_for_byte)
{
	reencode_response(rfc5769_v4, "192.0.2.1");
}

Test(rfc5769, ipv6_response_reencodes_byte_for_byte)
{
	reencode_response(rfc5769_v6, "2001:db8:1234:5678:11:2233:4455:6677");
}

Test(rfc5769, sample_request_reencodes_byte_for_byte)
{
	uint8_t want[256], out[256];
	size_t want_len = unhex(rfc5769_request, want, sizeof(want));
	const uint8_t controlled[] = {0x93, 0x2f, 0xf9, 0xb1,
	                              0x51, 0x26, 0x3b, 0x36};
	struct stun_writer w;

	start_request(&w, out, sizeof(out));
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "STUN test client");
	stun_put_u32(&w, 0x0024, 0x6e0001ff);
	stun_put_bytes(&w, 0x8029, controlled, sizeof(controlled));
	stun_put_string(&w, STUN_ATTR_USERNAME, "evtj:h6vY");
	pad_with_spaces(&w, 3);
	stun_put_integrity(&w, PW, PW_LEN);
	stun_put_fingerprint(&w);
	assert_wrote(&w, want, want_len);
}

Test(rfc5769, long_term_request_verifies_with_md5_key)
{
	uint8_t buf[256], key[STUN_KEY_MAX];
	struct stun_msg msg;
	size_t key_len;
	const char nonce[] = "f//499k954d6OL34oL9FSTvy64sA";

	load(rfc5769_long_term, buf, sizeof(buf), &msg);
	cr_assert(attr_is(&msg, STUN_ATTR_USERNAME, matrix_user, 18));
	cr_assert(attr_is(&msg, STUN_ATTR_NONCE, nonce, strlen(nonce)));
	cr_assert(attr_is(&msg, STUN_ATTR_REALM, "example.org", 11));
	cr_assert_eq(msg.fingerprint_index, -1);
	key_len = matrix_key(STUN_PASSWORD_ALGORITHM_MD5, key);
	cr_assert_eq(key_len, STUN_MD5_SIZE);
	OK(stun_msg_check_integrity(&msg, key, key_len));
	FAILS(stun_msg_check_integrity(&msg, (const uint8_t *)"TheMatrIX", 9),
	      EACCES);
}

Test(rfc5769, long_term_request_reencodes_byte_for_byte)
{
	uint8_t want[256], out[256], key[STUN_KEY_MAX];
	struct stun_msg msg;
	size_t want_len = load(rfc5769_long_term, want, sizeof(want), &msg);
	size_t key_len;
	struct stun_writer w;

	key_len = matrix_key(STUN_PASSWORD_ALGORITHM_MD5, key);
	stun_writer_init(&w, out, sizeof(out), STUN_METHOD_BINDING,
	                 STUN_CLASS_REQUEST, msg.transaction_id);
	stun_put_string(&w, STUN_ATTR_USERNAME, matrix_user);
	stun_put_string(&w, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
	stun_put_string(&w, STUN_ATTR_REALM, "example.org");
	stun_put_integrity(&w, key, key_len);
	assert_wrote(&w, want, want_len);
}

Test(rfc8489, b1_sha256_request_verifies_userhash_and_integrity)
{
	uint8_t buf[256], key[STUN_KEY_MAX], hash[STUN_SHA256_SIZE];
	struct stun_msg msg;
	size_t key_len;
	uint16_t algorithm;
	const char nonce[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

	load(rfc8489_b1, buf, sizeof(buf), &msg);
	cr_assert(attr_is(&msg, STUN_ATTR_NONCE, nonce, strlen(nonce)));
	cr_assert(attr_is(&msg, STUN_ATTR_REALM, "example.org", 11));
	OK(stun_userhash(matrix_user, 18, "example.org", 11, hash));
	cr_assert(attr_is(&msg, STUN_ATTR_USERHASH, hash, sizeof(hash)));
	OK(stun_attr_read_password_algorithm(
	    &msg, stun_msg_find(&msg, STUN_ATTR_PASSWORD_ALGORITHM),
	    &algorithm));
	cr_assert_eq(algorithm, STUN_PASSWORD_ALGORITHM_SHA256);
	key_len = matrix_key(algorithm, key);
	cr_assert_eq(key_len, STUN_SHA256_SIZE);
	OK(stun_msg_check_integrity_sha256(&msg, key, key_len));
	FAILS(stun_msg_check_integrity(&msg, key, key_len), ENOENT);
	key_len = matrix_key(STUN_PASSWORD_ALGORITHM_MD5, key);
	FAILS(stun_msg_check_integrity_sha256(&msg, key, key_len), EACCES);
}

Test(rfc8489, b1_sha256_request_reencodes_byte_for_byte)
{
	uint8_t want[256], out[256], key[STUN_KEY_MAX], hash[STUN_SHA256_SIZE];
	struct stun_msg msg;
	size_t want_len = load(rfc8489_b1, want, sizeof(want), &msg);
	size_t key_len;
	struct stun_writer w;

	stun_userhash(matrix_user, 18, "example.org", 11, hash);
	key_len = matrix_key(STUN_PASSWORD_ALGORITHM_SHA256, key);
	stun_writer_init(&w, out, sizeof(out), STUN_METHOD_BINDING,
	                 STUN_CLASS_REQUEST, msg.transaction_id);
	stun_put_bytes(&w, STUN_ATTR_USERHASH, hash, sizeof(hash));
	stun_put_string(&w, STUN_ATTR_NONCE,
	                "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");
	stun_put_string(&w, STUN_ATTR_REALM, "example.org");
	stun_put_password_algorithm(&w, STUN_PASSWORD_ALGORITHM_SHA256);
	stun_put_integrity_sha256(&w, key, key_len);
	assert_wrote(&w, want, want_len);
}
