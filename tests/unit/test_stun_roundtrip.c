/*
 * stun: round trips of every attribute through the writer and the decoder,
 * both integrities and the long-term keys, the writer's overflow and
 * padding, ChannelData, and the names of methods and error codes.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "turnpike/stun.h"
#include "test_stun.h"

/* One message carrying every attribute type the header names. */
size_t build_all(uint8_t *buf, size_t cap)
{
	struct sockaddr_storage v4 = make_addr("198.51.100.7", 3478),
	                        v6 = make_addr("2001:db8::1", 49152),
	                        v4b = make_addr("203.0.113.9", 1),
	                        v6b = make_addr("2001:db8::ff", 65535);
	const uint16_t unknown[] = {0x7000, 0x0024, 0x0030};
	const uint16_t algorithms[] = {STUN_PASSWORD_ALGORITHM_MD5,
	                               STUN_PASSWORD_ALGORITHM_SHA256};
	const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8}, hash[32] = {9};
	struct stun_writer w;
	size_t len;

	stun_writer_init(&w, buf, cap, STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS,
	                 tid);
	stun_put_xor_address(&w, STUN_ATTR_XOR_MAPPED_ADDRESS,
	                     (struct sockaddr *)&v4);
	stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS,
	                     (struct sockaddr *)&v6);
	stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS,
	                     (struct sockaddr *)&v4b);
	stun_put_xor_address(&w, STUN_ATTR_XOR_RELAYED_ADDRESS,
	                     (struct sockaddr *)&v6b);
	stun_put_address(&w, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&v4);
	stun_put_address(&w, STUN_ATTR_ALTERNATE_SERVER,
	                 (struct sockaddr *)&v6);
	stun_put_string(&w, STUN_ATTR_USERNAME, "alice");
	stun_put_string(&w, STUN_ATTR_REALM, "example.org");
	stun_put_string(&w, STUN_ATTR_NONCE, "obMatJos2AAABnonce");
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "turnpike");
	stun_put_string(&w, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org");
	stun_put_u32(&w, STUN_ATTR_LIFETIME, 600);
	stun_put_channel(&w, 0x4001);
	stun_put_transport(&w, STUN_TRANSPORT_UDP);
	stun_put_family(&w, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
	                STUN_ADDRESS_FAMILY_IPV4);
	stun_put_family(&w, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
	                STUN_ADDRESS_FAMILY_IPV6);
	stun_put_even_port(&w, true);
	stun_put_bytes(&w, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_put_bytes(&w, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	stun_put_bytes(&w, STUN_ATTR_DATA, "hello", 5);
	stun_put_bytes(&w, STUN_ATTR_USERHASH, hash, 32);
	stun_put_error(&w, 438, NULL);
	stun_put_address_error(&w, STUN_ADDRESS_FAMILY_IPV6, 440, "no v6");
	stun_put_unknown(&w, unknown, 3);
	stun_put_password_algorithm(&w, STUN_PASSWORD_ALGORITHM_SHA256);
	stun_put_password_algorithms(&w, algorithms, 2);
	stun_put_icmp(&w, 3, 4, 1400);
	stun_put_integrity(&w, (const uint8_t *)"key", 3);
	stun_put_integrity_sha256(&w, (const uint8_t *)"key", 3);
	stun_put_fingerprint(&w);
	OK(stun_writer_finish(&w, &len));
	return len;
}

static void decode_all(uint8_t *buf, size_t cap, struct stun_msg *msg)
{
	size_t len = build_all(buf, cap);

	OK(stun_msg_decode(msg, buf, len));
	cr_assert_eq(msg->unknown_count, 0);
	cr_assert_eq(msg->class, STUN_CLASS_SUCCESS);
	cr_assert_eq(msg->method, STUN_METHOD_ALLOCATE);
}

static const struct stun_attr *find(const struct stun_msg *msg, uint16_t t)
{
	const struct stun_attr *attr = stun_msg_find(msg, t);

	cr_assert_not_null(attr, "attribute 0x%04x", t);
	return attr;
}

Test(roundtrip, addresses_xored_and_plain)
{
	uint8_t buf[1024];
	struct stun_msg msg;
	struct sockaddr_storage got, v4 = make_addr("198.51.100.7", 3478),
	                             v6 = make_addr("2001:db8::1", 49152),
	                             v4b = make_addr("203.0.113.9", 1),
	                             v6b = make_addr("2001:db8::ff", 65535);
	int peers = 0;
	uint16_t i;

	decode_all(buf, sizeof(buf), &msg);
	stun_attr_read_xor_address(
	    &msg, find(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS), &got);
	assert_same_addr(&got, &v4);
	stun_attr_read_xor_address(
	    &msg, find(&msg, STUN_ATTR_XOR_RELAYED_ADDRESS), &got);
	assert_same_addr(&got, &v6b);
	OK(stun_attr_read_address(&msg, find(&msg, STUN_ATTR_MAPPED_ADDRESS),
	                          &got));
	assert_same_addr(&got, &v4);
	OK(stun_attr_read_address(&msg, find(&msg, STUN_ATTR_ALTERNATE_SERVER),
	                          &got));
	assert_same_addr(&got, &v6);
	/* CreatePermission carries several XOR-PEER-ADDRESS (RFC 8656 §9). */
	for (i = 0; i < msg.attr_count; i++) {
		if (msg.attrs[i].type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		OK(stun_attr_read_xor_address(&msg, &msg.attrs[i], &got));
		assert_same_addr(&got, peers++ == 0 ? &v6 : &v4b);
	}
	cr_assert_eq(peers, 2);
}

Test(roundtrip, strings_and_opaque_values)
{
	uint8_t buf[1024], hash[32] = {9};
	struct stun_msg msg;
	const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	decode_all(buf, sizeof(buf), &msg);
	cr_assert(attr_is(&msg, STUN_ATTR_USERNAME, "alice", 5));
	cr_assert(attr_is(&msg, STUN_ATTR_REALM, "example.org", 11));
	cr_assert(attr_is(&msg, STUN_ATTR_NONCE, "obMatJos2AAABnonce", 18));
	cr_assert(attr_is(&msg, STUN_ATTR_SOFTWARE, "turnpike", 8));
	cr_assert(
	    attr_is(&msg, STUN_ATTR_ALTERNATE_DOMAIN, "turn.example.org", 16));
	cr_assert(attr_is(&msg, STUN_ATTR_RESERVATION_TOKEN, token, 8));
	cr_assert(attr_is(&msg, STUN_ATTR_DATA, "hello", 5));
	cr_assert(attr_is(&msg, STUN_ATTR_USERHASH, hash, 32));
	cr_assert(attr_is(&msg, STUN_ATTR_DONT_FRAGMENT, "", 0));
}

Test(roundtrip, scalars)
{
	uint8_t buf[1024], u8, code8;
	struct stun_msg msg;
	uint32_t u32;
	uint16_t u16;
	bool reserve = false;

	decode_all(buf, sizeof(buf), &msg);
	OK(stun_attr_read_u32(&msg, find(&msg, STUN_ATTR_LIFETIME), &u32));
	cr_assert_eq(u32, 600);
	OK(stun_attr_read_channel(&msg, find(&msg, STUN_ATTR_CHANNEL_NUMBER),
	                          &u16));
	cr_assert_eq(u16, 0x4001);
	OK(stun_attr_read_transport(
	    &msg, find(&msg, STUN_ATTR_REQUESTED_TRANSPORT), &u8));
	cr_assert_eq(u8, STUN_TRANSPORT_UDP);
	OK(stun_attr_read_family(
	    &msg, find(&msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY), &u8));
	cr_assert_eq(u8, STUN_ADDRESS_FAMILY_IPV4);
	OK(stun_attr_read_family(
	    &msg, find(&msg, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY), &u8));
	cr_assert_eq(u8, STUN_ADDRESS_FAMILY_IPV6);
	OK(stun_attr_read_even_port(&msg, find(&msg, STUN_ATTR_EVEN_PORT),
	                            &reserve));
	cr_assert(reserve);
	OK(stun_attr_read_icmp(&msg, find(&msg, STUN_ATTR_ICMP), &u8, &code8,
	                       &u32));
	cr_assert(u8 == 3 && code8 == 4 && u32 == 1400);
}

Test(roundtrip, error_codes_and_lists)
{
	uint8_t buf[1024], family = 0;
	struct stun_msg msg;
	uint16_t code, list[4];
	const char *reason;
	size_t reason_len, count;

	decode_all(buf, sizeof(buf), &msg);
	OK(stun_attr_read_error(&msg, find(&msg, STUN_ATTR_ERROR_CODE), NULL,
	                        &code, &reason, &reason_len));
	cr_assert_eq(code, 438);
	cr_assert(reason_len == 11 && memcmp(reason, "Stale Nonce", 11) == 0);
	OK(stun_attr_read_error(&msg, find(&msg, STUN_ATTR_ADDRESS_ERROR_CODE),
	                        &family, &code, &reason, &reason_len));
	cr_assert(family == 2 && code == 440 && reason_len == 5);
	OK(stun_attr_read_unknown(
	    &msg, find(&msg, STUN_ATTR_UNKNOWN_ATTRIBUTES), list, 2, &count));
	cr_assert(count == 3 && list[0] == 0x7000 && list[1] == 0x0024);
	OK(stun_attr_read_password_algorithm(
	    &msg, find(&msg, STUN_ATTR_PASSWORD_ALGORITHM), &code));
	cr_assert_eq(code, STUN_PASSWORD_ALGORITHM_SHA256);
	OK(stun_attr_read_password_algorithms(
	    &msg, find(&msg, STUN_ATTR_PASSWORD_ALGORITHMS), list, 4, &count));
	cr_assert(count == 2 && list[0] == 1 && list[1] == 2);
}

Test(roundtrip, both_integrities_and_fingerprint_verify)
{
	uint8_t buf[1024];
	struct stun_msg msg;

	decode_all(buf, sizeof(buf), &msg);
	OK(stun_msg_check_integrity(&msg, (const uint8_t *)"key", 3));
	OK(stun_msg_check_integrity_sha256(&msg, (const uint8_t *)"key", 3));
	FAILS(stun_msg_check_integrity(&msg, (const uint8_t *)"kez", 3),
	      EACCES);
	cr_assert_eq(msg.attrs[msg.attr_count - 1].type, STUN_ATTR_FINGERPRINT);
}

Test(roundtrip, every_method_and_class)
{
	const uint16_t methods[] = {0x001, 0x003, 0x004, 0x006, 0x007,
	                            0x008, 0x009, 0x00A, 0x0FF, 0xFFF};
	uint8_t buf[STUN_HEADER_SIZE];
	struct stun_writer w;
	struct stun_msg msg;
	size_t i;
	uint8_t c;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		for (c = 0; c < 4; c++) {
			stun_writer_init(&w, buf, sizeof(buf), methods[i], c,
			                 tid);
			OK(finish_decode(&w, &msg));
			cr_assert(msg.method == methods[i] && msg.class == c);
		}
	}
	stun_writer_init(&w, buf, sizeof(buf), STUN_METHOD_BINDING,
	                 STUN_CLASS_ERROR, tid);
	cr_assert(buf[0] == 0x01 && buf[1] == 0x11); /* RFC 8489 §5 */
}

Test(integrity, truncated_sha256_verifies)
{
	uint8_t buf[256], mac[32];
	unsigned int mac_len = 0;
	struct stun_writer w;
	struct stun_msg msg;
	size_t len;

	start_request(&w, buf, sizeof(buf));
	stun_put_string(&w, STUN_ATTR_USERNAME, "carol");
	stun_put_bytes(&w, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, 16);
	OK(stun_writer_finish(&w, &len));
	/* RFC 8489 §14.6: the first 16 bytes of the HMAC may be sent. */
	HMAC(EVP_sha256(), "pw", 2, buf, len - 20, mac, &mac_len);
	memcpy(buf + len - 16, mac, 16);
	OK(stun_msg_decode(&msg, buf, len));
	OK(stun_msg_check_integrity_sha256(&msg, (const uint8_t *)"pw", 2));
	buf[len - 1] ^= 1;
	FAILS(stun_msg_check_integrity_sha256(&msg, (const uint8_t *)"pw", 2),
	      EACCES);
}

Test(integrity, keys_and_empty_key)
{
	uint8_t key[STUN_KEY_MAX], buf[128];
	size_t key_len = 0;
	struct stun_writer w;
	struct stun_msg msg;

	FAILS(stun_long_term_key(3, "u", 1, "r", 1, "p", 1, key, &key_len),
	      EINVAL);
	cr_assert_eq(key_len, 0);
	start_request(&w, buf, sizeof(buf));
	stun_put_integrity(&w, NULL, 0);
	OK(finish_decode(&w, &msg));
	OK(stun_msg_check_integrity(&msg, NULL, 0));
}

Test(writer, overflow_is_sticky_and_reported)
{
	uint8_t buf[32];
	struct stun_writer w;
	size_t len = 99;

	start_request(&w, buf, sizeof(buf));
	stun_put_u32(&w, STUN_ATTR_LIFETIME, 1); /* 28 of 32 */
	stun_put_u32(&w, STUN_ATTR_LIFETIME, 2); /* would be 36: overflow */
	cr_assert(w.overflow);
	stun_put_bytes(&w, STUN_ATTR_DONT_FRAGMENT, NULL, 0); /* would fit */
	stun_put_fingerprint(&w);
	cr_assert_eq(w.length, 28);
	cr_assert_eq(buf[3], 8); /* the header still says 8 */
	FAILS(stun_writer_finish(&w, &len), ENOBUFS);
	cr_assert_eq(len, 99);
	stun_writer_init(&w, buf, 19, STUN_METHOD_BINDING, 0, tid);
	FAILS(stun_writer_finish(&w, &len), ENOBUFS);
}

Test(writer, pads_with_zeros_and_keeps_length)
{
	uint8_t buf[64];
	struct stun_writer w;
	size_t len;

	memset(buf, 0xAA, sizeof(buf));
	start_request(&w, buf, sizeof(buf));
	stun_put_string(&w, STUN_ATTR_USERNAME, "abcde");
	cr_assert_eq(buf[3], 12);
	cr_assert(buf[29] == 0 && buf[30] == 0 && buf[31] == 0);
	stun_put_even_port(&w, false);
	cr_assert_eq(buf[3], 20);
	cr_assert(buf[36] == 0x00 && buf[37] == 0 && buf[39] == 0);
	OK(stun_writer_finish(&w, &len));
	cr_assert_eq(len, 40);
}

Test(writer, unencodable_puts_fail_the_message)
{
	uint8_t buf[128];
	struct stun_writer w;
	struct sockaddr sa = {.sa_family = AF_UNIX};
	size_t len;

	stun_writer_init(&w, buf, sizeof(buf), 1, 0, tid);
	stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS, &sa);
	FAILS(stun_writer_finish(&w, &len), ENOBUFS);
	stun_writer_init(&w, buf, sizeof(buf), 1, 0, tid);
	stun_put_error(&w, 299, "no");
	FAILS(stun_writer_finish(&w, &len), ENOBUFS);
}

Test(channel_data, decodes_and_checks)
{
	uint8_t buf[16] = {0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
	struct stun_channel_data cd;

	OK(stun_channel_data_decode(buf, 9, &cd));
	cr_assert(cd.channel == 0x4001 && cd.length == 5);
	cr_assert(cd.data == buf + 4);
	/* RFC 8656 §12.5: padding to 4 may follow over UDP, no more. */
	OK(stun_channel_data_decode(buf, 12, &cd));
	FAILS(stun_channel_data_decode(buf, 13, &cd), EBADMSG);
	FAILS(stun_channel_data_decode(buf, 8, &cd), EBADMSG);
	FAILS(stun_channel_data_decode(buf, 3, &cd), EBADMSG);
	FAILS(stun_channel_data_decode(buf, 0, &cd), ENOMSG);
	buf[0] = 0x7c; /* RFC 5766's range decodes; binding decides */
	OK(stun_channel_data_decode(buf, 9, &cd));
	cr_assert_eq(cd.channel, 0x7c01);
	buf[0] = 0x00; /* STUN's first bits */
	FAILS(stun_channel_data_decode(buf, 9, &cd), ENOMSG);
	buf[0] = 0xC0;
	FAILS(stun_channel_data_decode(buf, 9, &cd), ENOMSG);
	stun_channel_data_header(buf, 0x4FFF, 0x0102);
	cr_assert(buf[0] == 0x4F && buf[1] == 0xFF && buf[2] == 1 &&
	          buf[3] == 2);
}

Test(channel_data, frame_length_for_streams)
{
	uint8_t buf[STUN_HEADER_SIZE];
	const uint8_t cd5[] = {0x40, 0x00, 0x00, 0x05}, cd8[] = {0x4F, 0, 0, 8},
	              legacy[] = {0x7c, 0, 0, 1}, top[] = {0x80, 0, 0, 0},
	              odd[] = {0x00, 0x01, 0x00, 0x06};
	struct stun_writer w;
	size_t frame = 0;

	stun_writer_init(&w, buf, sizeof(buf), 1, 0, tid);
	OK(stun_frame_length(buf, 4, &frame));
	cr_assert_eq(frame, 20);
	OK(stun_frame_length(cd5, 4, &frame));
	cr_assert_eq(frame, 12); /* RFC 8656 §12.5: padded over streams */
	OK(stun_frame_length(cd8, 4, &frame));
	cr_assert_eq(frame, 12);
	FAILS(stun_frame_length(cd5, 3, &frame), EAGAIN);
	OK(stun_frame_length(legacy, 4, &frame)); /* RFC 5766's range */
	cr_assert_eq(frame, 8);
	FAILS(stun_frame_length(top, 4, &frame), EBADMSG);
	FAILS(stun_frame_length(odd, 4, &frame), EBADMSG);
}

Test(names, methods_and_reasons)
{
	static const struct {
		uint16_t code;
		const char *reason;
	} reasons[] = {
	    {300, "Try Alternate"},
	    {400, "Bad Request"},
	    {401, "Unauthenticated"},
	    {403, "Forbidden"},
	    {420, "Unknown Attribute"},
	    {437, "Allocation Mismatch"},
	    {438, "Stale Nonce"},
	    {440, "Address Family not Supported"},
	    {441, "Wrong Credentials"},
	    {442, "Unsupported Transport Protocol"},
	    {443, "Peer Address Family Mismatch"},
	    {446, "Connection Already Exists"},
	    {447, "Connection Timeout or Failure"},
	    {486, "Allocation Quota Reached"},
	    {500, "Server Error"},
	    {508, "Insufficient Capacity"},
	};
	size_t i;

	cr_assert_str_eq(stun_method_name(STUN_METHOD_ALLOCATE), "Allocate");
	cr_assert_str_eq(stun_method_name(STUN_METHOD_CREATE_PERMISSION),
	                 "CreatePermission");
	cr_assert_str_eq(stun_method_name(STUN_METHOD_CHANNEL_BIND),
	                 "ChannelBind");
	cr_assert_str_eq(stun_method_name(0x0FF), "unknown");
	cr_assert_str_eq(stun_transport_name(STUN_TRANSPORT_UDP), "udp");
	cr_assert_str_eq(stun_transport_name(STUN_TRANSPORT_TCP), "tcp");
	cr_assert_str_eq(stun_transport_name(STUN_TRANSPORT_TLS), "tls");
	cr_assert_str_eq(stun_transport_name(0), "?");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		cr_assert_str_eq(stun_error_reason(reasons[i].code),
		                 reasons[i].reason);
	cr_assert_str_eq(stun_error_reason(599), "Error");
}
