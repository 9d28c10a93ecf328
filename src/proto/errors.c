/* SPDX-License-Identifier: BSD-3-Clause */
#include "altuntun.h"

static const char *const messages[] = {
	[0] = "success",
	[-ALTUNTUN_ERR_NOMEM] = "out of memory",
	[-ALTUNTUN_ERR_INVALID_ARGUMENT] = "invalid argument",
	[-ALTUNTUN_ERR_BUFFER_TOO_SMALL] = "buffer too small for header, padding and tag",
	[-ALTUNTUN_ERR_NO_PRIVATE_KEY] = "no private key is set",
	[-ALTUNTUN_ERR_PEER_IS_SELF] = "peer public key is our own public key",
	[-ALTUNTUN_ERR_PEER_NOT_FOUND] = "no such peer",
	[-ALTUNTUN_ERR_LOW_ORDER_KEY] = "peer public key is a low-order point",
	[-ALTUNTUN_ERR_PACKET_TOO_SHORT] = "packet too short",
	[-ALTUNTUN_ERR_PACKET_UNKNOWN_TYPE] = "unknown message type",
	[-ALTUNTUN_ERR_PACKET_BAD_LENGTH] = "wrong length for message type",
	[-ALTUNTUN_ERR_BAD_MAC1] = "handshake message with invalid MAC1",
	[-ALTUNTUN_ERR_COOKIE_REQUIRED] = "under load: cookie reply sent, message not processed",
	[-ALTUNTUN_ERR_RATE_LIMITED] = "handshake rate limit exceeded for source",
	[-ALTUNTUN_ERR_UNKNOWN_PEER] = "handshake from an unknown public key",
	[-ALTUNTUN_ERR_HANDSHAKE_FAILED] = "handshake message did not decrypt",
	[-ALTUNTUN_ERR_REPLAYED_TIMESTAMP] = "handshake initiation timestamp not newer than the last",
	[-ALTUNTUN_ERR_INITIATION_FLOOD] = "handshake initiations from this peer too frequent",
	[-ALTUNTUN_ERR_UNKNOWN_INDEX] = "message for an unknown receiver index",
	[-ALTUNTUN_ERR_UNEXPECTED_MESSAGE] = "message not expected in this handshake state",
	[-ALTUNTUN_ERR_DECRYPT] = "message failed authentication",
	[-ALTUNTUN_ERR_REPLAY] = "counter replayed or outside the window",
	[-ALTUNTUN_ERR_KEY_EXPIRED] = "session keys expired",
	[-ALTUNTUN_ERR_NO_ROUTE] = "no peer has the destination in its allowed IPs",
	[-ALTUNTUN_ERR_SOURCE_NOT_ALLOWED] = "inner source address not allowed for this peer",
	[-ALTUNTUN_ERR_BAD_INNER_PACKET] = "not a valid IPv4 or IPv6 packet",
	[-ALTUNTUN_ERR_NO_ENDPOINT] = "peer has no endpoint",
	[-ALTUNTUN_ERR_QUEUE_FULL] = "queue full",
	[-ALTUNTUN_ERR_PACKET_TOO_BIG] = "packet too big",
	[-ALTUNTUN_ERR_BAD_ADDRESS] = "invalid address",
	[-ALTUNTUN_ERR_BAD_KEY] = "invalid key",
	[-ALTUNTUN_ERR_SEND_FAILED] = "send failed",
	[-ALTUNTUN_ERR_NOT_FOUND] = "not found",
};

const char *altuntun_strerror(int code)
{
	if (code == ALTUNTUN_QUEUED)
		return "queued until a handshake completes";
	if (code == ALTUNTUN_DELIVER)
		return "decrypted packet to deliver";
	if (code == ALTUNTUN_DECRYPT)
		return "data message to decrypt";
	if (code > 0 || code <= ALTUNTUN_ERR__LAST || !messages[-code])
		return "unknown error";
	return messages[-code];
}
