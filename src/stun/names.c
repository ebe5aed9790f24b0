/*
 * Names for logs and the reason phrases sent in ERROR-CODE.
 */
#include <stdint.h>

#include "stun_private.h"

const char *stun_method_name(uint16_t method)
{
	switch (method) {
	case STUN_METHOD_BINDING:
		return "Binding";
	case STUN_METHOD_ALLOCATE:
		return "Allocate";
	case STUN_METHOD_REFRESH:
		return "Refresh";
	case STUN_METHOD_SEND:
		return "Send";
	case STUN_METHOD_DATA:
		return "Data";
	case STUN_METHOD_CREATE_PERMISSION:
		return "CreatePermission";
	case STUN_METHOD_CHANNEL_BIND:
		return "ChannelBind";
	default:
		return "unknown";
	}
}

const char *stun_transport_name(uint8_t transport)
{
	switch (transport) {
	case STUN_TRANSPORT_UDP:
		return "udp";
	case STUN_TRANSPORT_TCP:
		return "tcp";
	case STUN_TRANSPORT_TLS:
		return "tls";
	default:
		return "?";
	}
}

/* The phrases RFC 8489 §14.8, RFC 8656 §19 and RFC 6062 §6.3 (446, 447)
 * suggest. RFC 8489 renamed 401 from "Unauthorized" to "Unauthenticated". */
const char *stun_error_reason(uint16_t code)
{
	switch (code) {
	case 300:
		return "Try Alternate";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthenticated";
	case 403:
		return "Forbidden";
	case 420:
		return "Unknown Attribute";
	case 437:
		return "Allocation Mismatch";
	case 438:
		return "Stale Nonce";
	case 440:
		return "Address Family not Supported";
	case 441:
		return "Wrong Credentials";
	case 442:
		return "Unsupported Transport Protocol";
	case 443:
		return "Peer Address Family Mismatch";
	case 446:
		return "Connection Already Exists";
	case 447:
		return "Connection Timeout or Failure";
	case 486:
		return "Allocation Quota Reached";
	case 500:
		return "Server Error";
	case 508:
		return "Insufficient Capacity";
	default:
		/* The phrase is for humans (§14.8); the code is what counts. */
		return "Error";
	}
}
