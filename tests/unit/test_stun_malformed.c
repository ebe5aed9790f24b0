/*
 * stun: malformed input: every truncation of the vectors, bad headers and
 * fingerprints, attributes after the integrity, unknown and too many
 * attributes, wrong sizes, and readers given impossible values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "turnpike/stun.h"
#include "test_stun.h"

/* Decodes len bytes from a heap copy of exactly that size, so that a read
 * past the end is caught when the tests run under AddressSanitizer. */
static int decode_exact(const uint8_t *bytes, size_t len)
{
	struct stun_msg msg;
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, bytes, len);
	rc = stun_msg_decode(&msg, copy, len);
	free(copy);
	return rc;
}

Test(malformed, every_truncation_is_rejected)
{
	const char *vectors[] = {rfc5769_request, rfc5769_v4, rfc5769_v6,
	                         rfc5769_long_term, rfc8489_b1};
	uint8_t buf[1024];
	size_t v, len, cut;
	int rc;

	for (v = 0; v <= 5; v++) {
		len = v < 5 ? unhex(vectors[v], buf, sizeof(buf))
		            : build_all(buf, sizeof(buf));
		for (cut = 0; cut < len; cut++) {
			rc = decode_exact(buf, cut);
			cr_assert(rc == EBADMSG || rc == ENOMSG, "cut %zu",
			          cut);
			if (cut < STUN_HEADER_SIZE || cut % 4 != 0)
				continue;
			/* Also with a length field that agrees, so the walk
			 * itself meets the cut attribute (or the missing
			 * FINGERPRINT, integrity still being intact). */
			buf[2] = (uint8_t)((cut - 20) >> 8);
			buf[3] = (uint8_t)(cut - 20);
			rc = decode_exact(buf, cut);
			cr_assert(rc == 0 || rc == EBADMSG, "cut %zu", cut);
			buf[2] = (uint8_t)((len - 20) >> 8);
			buf[3] = (uint8_t)(len - 20);
		}
	}
}

Test(malformed, header_checks)
{
	uint8_t buf[256];
	size_t len = unhex(rfc5769_v4, buf, sizeof(buf));

	buf[4] ^= 1; /* RFC 8489 §6.3: no magic cookie, not STUN */
	FAILS(decode_exact(buf, len), ENOMSG);
	buf[4] ^= 1;
	buf[0] |= 0x40; /* ChannelData's first bits */
	FAILS(decode_exact(buf, len), ENOMSG);
	buf[0] &= 0x3F;
	buf[3] += 2; /* not a multiple of 4 */
	FAILS(decode_exact(buf, len), EBADMSG);
	buf[3] -= 2;
	FAILS(decode_exact(buf, len - 4), EBADMSG);
	FAILS(decode_exact(buf, 19), ENOMSG);
	OK(decode_exact(buf, len));
}

Test(malformed, fingerprint_mismatch_and_not_last)
{
	uint8_t buf[256];
	size_t len = unhex(rfc5769_v4, buf, sizeof(buf));
	struct stun_writer w;

	buf[len - 1] ^= 0x01;
	FAILS(decode_exact(buf, len), EBADMSG);
	start_request(&w, buf, sizeof(buf));
	stun_put_fingerprint(&w);
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "after");
	OK(stun_writer_finish(&w, &len));
	/* RFC 8489 §14.7: FINGERPRINT is the last attribute. */
	FAILS(decode_exact(buf, len), EBADMSG);
}

Test(malformed, attributes_after_integrity_are_ignored)
{
	uint8_t buf[512];
	struct stun_writer w;
	struct stun_msg msg;
	const uint8_t *key = (const uint8_t *)"pw";

	start_request(&w, buf, sizeof(buf));
	stun_put_string(&w, STUN_ATTR_USERNAME, "bob");
	stun_put_integrity(&w, key, 2);
	stun_put_string(&w, STUN_ATTR_SOFTWARE, "ignored");
	stun_put_u32(&w, 0x7777, 1); /* unknown, but ignored: no 420 */
	stun_put_bytes(&w, STUN_ATTR_LIFETIME, "x", 1); /* bad, but ignored */
	stun_put_integrity_sha256(&w, key, 2);
	stun_put_integrity(&w, key, 2); /* after the SHA-256 one: ignored */
	stun_put_fingerprint(&w);
	OK(finish_decode(&w, &msg));
	cr_assert_null(stun_msg_find(&msg, STUN_ATTR_SOFTWARE));
	cr_assert_null(stun_msg_find(&msg, STUN_ATTR_LIFETIME));
	cr_assert_eq(msg.unknown_count, 0);
	cr_assert_eq(msg.attr_count, 4);
	cr_assert_eq(msg.integrity_index, 1);
	cr_assert_eq(msg.integrity_sha256_index, 2);
	OK(stun_msg_check_integrity(&msg, key, 2));
	OK(stun_msg_check_integrity_sha256(&msg, key, 2));
}

Test(malformed, unknown_attributes_required_listed_optional_not)
{
	uint8_t buf[512];
	struct stun_writer w;
	struct stun_msg msg;
	uint16_t t;

	stun_writer_init(&w, buf, sizeof(buf), STUN_METHOD_ALLOCATE,
	                 STUN_CLASS_REQUEST, tid);
	stun_put_u32(&w, 0x7FFF, 0);
	stun_put_u32(&w, 0xC001, 0); /* comprehension-optional */
	stun_put_u32(&w, 0x7FFF, 0); /* listed once */
	for (t = 0x7000; t < 0x7010; t++)
		stun_put_u32(&w, t, 0);
	OK(finish_decode(&w, &msg));
	cr_assert_eq(msg.unknown_count, STUN_MAX_UNKNOWN);
	cr_assert_eq(msg.unknown[0], 0x7FFF);
	cr_assert_eq(msg.unknown[1], 0x7000);
	cr_assert_not_null(stun_msg_find(&msg, 0xC001));
}

Test(malformed, too_many_attributes)
{
	uint8_t buf[1024];
	struct stun_writer w;
	struct stun_msg msg;
	int i;

	start_request(&w, buf, sizeof(buf));
	for (i = 0; i < STUN_MAX_ATTRS; i++)
		stun_put_u32(&w, STUN_ATTR_LIFETIME, (uint32_t)i);
	OK(finish_decode(&w, &msg));
	stun_put_u32(&w, STUN_ATTR_LIFETIME, 0);
	FAILS(finish_decode(&w, &msg), EBADMSG);
}

struct size_case {
	uint16_t type;
	uint16_t len;
	uint8_t second_byte; /* an address's family */
	int rc;
};

Test(malformed, known_attribute_sizes)
{
	static const struct size_case cases[] = {
	    {0x0020, 8, 1, 0},         {0x0020, 20, 2, 0},
	    {0x0020, 8, 2, EBADMSG},   {0x0020, 20, 1, EBADMSG},
	    {0x0012, 12, 1, EBADMSG},  {0x0016, 4, 1, EBADMSG},
	    {0x0001, 8, 3, EBADMSG},   {0x8023, 20, 2, 0},
	    {0x0006, 512, 0, 0},       {0x0006, 513, 0, EBADMSG},
	    {0x0014, 763, 0, 0},       {0x0014, 764, 0, EBADMSG},
	    {0x0015, 764, 0, EBADMSG}, {0x8022, 764, 0, EBADMSG},
	    {0x000D, 4, 0, 0},         {0x000D, 8, 0, EBADMSG},
	    {0x000C, 2, 0, EBADMSG},   {0x0019, 5, 0, EBADMSG},
	    {0x0017, 3, 0, EBADMSG},   {0x8032, 8, 0, EBADMSG},
	    {0x0018, 1, 0, 0},         {0x0018, 4, 0, EBADMSG},
	    {0x0022, 8, 0, 0},         {0x0022, 4, 0, EBADMSG},
	    {0x001A, 0, 0, 0},         {0x001A, 1, 0, EBADMSG},
	    {0x0008, 20, 0, 0},        {0x0008, 32, 0, EBADMSG},
	    {0x001C, 16, 0, 0},        {0x001C, 20, 0, 0},
	    {0x001C, 12, 0, EBADMSG},  {0x001C, 18, 0, EBADMSG},
	    {0x001C, 36, 0, EBADMSG},  {0x001E, 32, 0, 0},
	    {0x001E, 20, 0, EBADMSG},  {0x0009, 4, 0, 0},
	    {0x0009, 3, 0, EBADMSG},   {0x8033, 2, 0, EBADMSG},
	    {0x000A, 6, 0, 0},         {0x000A, 5, 0, EBADMSG},
	    {0x001D, 4, 0, 0},         {0x001D, 2, 0, EBADMSG},
	    {0x8002, 8, 0, 0},         {0x8002, 6, 0, EBADMSG},
	    {0x8004, 8, 0, 0},         {0x8004, 4, 0, EBADMSG},
	    {0x8028, 8, 0, EBADMSG},   {0x0013, 3, 0, 0},
	};
	uint8_t buf[1024], value[800];
	struct stun_writer w;
	struct stun_msg msg;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(value, 0, sizeof(value));
		value[1] = cases[i].second_byte;
		start_request(&w, buf, sizeof(buf));
		stun_put_bytes(&w, cases[i].type, value, cases[i].len);
		cr_assert_eq(finish_decode(&w, &msg), cases[i].rc,
		             "type 0x%04x length %u", cases[i].type,
		             cases[i].len);
	}
}

Test(malformed, readers_refuse_impossible_values)
{
	uint8_t buf[256];
	struct stun_writer w;
	struct stun_msg msg;
	size_t reason_len;
	uint16_t code;
	const char *reason;
	const uint8_t bad_class[4] = {0, 0, 7, 0},
	              bad_number[4] = {0, 0, 4, 100};

	stun_writer_init(&w, buf, sizeof(buf), STUN_METHOD_BINDING,
	                 STUN_CLASS_ERROR, tid);
	stun_put_bytes(&w, STUN_ATTR_ERROR_CODE, bad_class, 4);
	stun_put_bytes(&w, STUN_ATTR_ERROR_CODE, bad_number, 4);
	OK(finish_decode(&w, &msg));
	FAILS(stun_attr_read_error(&msg, &msg.attrs[0], NULL, &code, &reason,
	                           &reason_len),
	      EBADMSG);
	FAILS(stun_attr_read_error(&msg, &msg.attrs[1], NULL, &code, &reason,
	                           &reason_len),
	      EBADMSG);
	/* A reader used on the wrong attribute checks the size itself. */
	FAILS(stun_attr_read_xor_address(&msg, &msg.attrs[0],
	                                 &(struct sockaddr_storage){0}),
	      EBADMSG);
}
