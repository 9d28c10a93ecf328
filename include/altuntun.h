/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libaltuntun: the WireGuard protocol as a library.
 *
 * The library owns no socket, no TUN device, no thread and no clock. The
 * caller drives it with three kinds of call, always passing the current time:
 *
 *   altuntun_send()     a plaintext IP packet read from the tunnel device:
 *                       it is encrypted in place and handed back with the
 *                       endpoint to send it to (or queued until a handshake
 *                       completes).
 *   altuntun_receive()  a UDP datagram read from the network: a data packet
 *                       is decrypted in place and handed back for the tunnel
 *                       device; handshake and cookie messages are consumed.
 *   altuntun_tick()     timers: call it no later than the deadline it
 *                       returns (and whenever convenient before).
 *
 * Messages the library itself must send (handshakes, cookie replies,
 * keepalives, packets that were queued during a handshake) are passed to the
 * `send` callback given at creation. Callbacks run synchronously inside the
 * call that caused them.
 *
 * A device is not thread-safe: one thread at a time may call into it.
 *
 * Buffers: altuntun_send() encrypts in place. The plaintext starts
 * ALTUNTUN_HEADROOM bytes into the caller's buffer, and the buffer must have
 * ALTUNTUN_TAILROOM bytes after the plaintext for padding and the tag.
 *
 * Time: `struct altuntun_now` carries a monotonic clock (all timers) and the
 * wall clock (only for the TAI64N timestamp in initiations and for reporting
 * the last handshake time). Both in nanoseconds.
 *
 * Errors: functions return ALTUNTUN_OK (0), a positive status, or a negative
 * `enum altuntun_error`; altuntun_strerror() describes any of them.
 */
#ifndef ALTUNTUN_H
#define ALTUNTUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALTUNTUN_VERSION "0.1.0"

#define ALTUNTUN_KEY_LEN 32
/* Bytes before the plaintext that altuntun_send() fills with the header. */
#define ALTUNTUN_HEADROOM 16
/* Bytes after the plaintext that altuntun_send() may use: padding + tag. */
#define ALTUNTUN_TAILROOM (15 + 16)
/* Bytes a data message adds to its plaintext, padding aside. */
#define ALTUNTUN_DATA_OVERHEAD 32
/* Largest handshake-related message (the initiation). */
#define ALTUNTUN_MAX_HANDSHAKE_LEN 148
/* Packets held per peer while a handshake is pending (as the Linux driver). */
#define ALTUNTUN_MAX_STAGED_PACKETS 128
/* Largest plaintext the library accepts. */
#define ALTUNTUN_MAX_PACKET 65535

enum altuntun_error {
	ALTUNTUN_OK = 0,
	ALTUNTUN_ERR_NOMEM = -1,
	ALTUNTUN_ERR_INVALID_ARGUMENT = -2,
	ALTUNTUN_ERR_BUFFER_TOO_SMALL = -3,
	ALTUNTUN_ERR_NO_PRIVATE_KEY = -4,
	ALTUNTUN_ERR_PEER_IS_SELF = -5,
	ALTUNTUN_ERR_PEER_NOT_FOUND = -6,
	ALTUNTUN_ERR_LOW_ORDER_KEY = -7,
	ALTUNTUN_ERR_PACKET_TOO_SHORT = -8,
	ALTUNTUN_ERR_PACKET_UNKNOWN_TYPE = -9,
	ALTUNTUN_ERR_PACKET_BAD_LENGTH = -10,
	ALTUNTUN_ERR_BAD_MAC1 = -11,
	ALTUNTUN_ERR_COOKIE_REQUIRED = -12,
	ALTUNTUN_ERR_RATE_LIMITED = -13,
	ALTUNTUN_ERR_UNKNOWN_PEER = -14,
	ALTUNTUN_ERR_HANDSHAKE_FAILED = -15,
	ALTUNTUN_ERR_REPLAYED_TIMESTAMP = -16,
	ALTUNTUN_ERR_INITIATION_FLOOD = -17,
	ALTUNTUN_ERR_UNKNOWN_INDEX = -18,
	ALTUNTUN_ERR_UNEXPECTED_MESSAGE = -19,
	ALTUNTUN_ERR_DECRYPT = -20,
	ALTUNTUN_ERR_REPLAY = -21,
	ALTUNTUN_ERR_KEY_EXPIRED = -22,
	ALTUNTUN_ERR_NO_ROUTE = -23,
	ALTUNTUN_ERR_SOURCE_NOT_ALLOWED = -24,
	ALTUNTUN_ERR_BAD_INNER_PACKET = -25,
	ALTUNTUN_ERR_NO_ENDPOINT = -26,
	ALTUNTUN_ERR_QUEUE_FULL = -27,
	ALTUNTUN_ERR_PACKET_TOO_BIG = -28,
	ALTUNTUN_ERR_BAD_ADDRESS = -29,
	ALTUNTUN_ERR_BAD_KEY = -30,
	ALTUNTUN_ERR_SEND_FAILED = -31,
	ALTUNTUN_ERR_NOT_FOUND = -32,
	ALTUNTUN_ERR__LAST = -33,
};

/* Positive statuses. */
enum altuntun_status {
	/* altuntun_send(): packet held until a session exists. */
	ALTUNTUN_QUEUED = 1,
	/* altuntun_receive(): a decrypted inner packet is in `out`. */
	ALTUNTUN_DELIVER = 2,
	/* altuntun_receive_prepare(): a data message to decrypt (altuntun_crypt_open)
	 * and then to hand to altuntun_receive_finish(). */
	ALTUNTUN_DECRYPT = 3,
};

/* Describes an error or status code. Never returns NULL. */
const char *altuntun_strerror(int code);

struct altuntun_now {
	uint64_t mono_ns; /* monotonic, any epoch */
	uint64_t wall_ns; /* CLOCK_REALTIME, since the Unix epoch */
};

/*
 * Where a peer is: its address and port, plus the local address (and
 * interface index) our packets to it should leave from, learned from the
 * packet it last sent us. `local_family` is 0 when no local address is
 * known; the caller then lets the kernel choose.
 */
struct altuntun_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	sa_family_t local_family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} local;
	uint32_t local_ifindex;
};

typedef struct altuntun_device altuntun_device;
typedef struct altuntun_peer altuntun_peer;

struct altuntun_callbacks {
	/*
	 * Send one UDP datagram. `peer` is NULL for a cookie reply to an
	 * unknown source. Return 0 or a negative errno; the library counts
	 * bytes only for datagrams that were sent.
	 */
	int (*send)(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		    const uint8_t *data, size_t len);
	void *ctx;
};

/* Result of altuntun_send() and altuntun_receive(). */
struct altuntun_out {
	altuntun_peer *peer;
	uint8_t *data; /* inside the caller's buffer */
	size_t len;
	struct altuntun_endpoint endpoint; /* altuntun_send(): where to send */
};

/* ---- device ---- */

/* Creates a device with no key and no peers. Returns NULL on allocation
 * failure. `random` seeds nothing: randomness comes from libsodium. */
altuntun_device *altuntun_device_new(const struct altuntun_callbacks *cb);
/* Frees the device and every peer, wiping all key material. */
void altuntun_device_free(altuntun_device *dev);

/*
 * Sets the static private key (clamped as X25519 requires). NULL or all
 * zeroes removes it. Sessions of every peer are dropped; a peer whose public
 * key equals the new public key is removed, as in the Linux driver.
 */
int altuntun_device_set_private_key(altuntun_device *dev, const uint8_t key[ALTUNTUN_KEY_LEN]);
/* Copies the (clamped) private key and returns true, or false if none. */
bool altuntun_device_get_private_key(const altuntun_device *dev, uint8_t key[ALTUNTUN_KEY_LEN]);
bool altuntun_device_get_public_key(const altuntun_device *dev, uint8_t key[ALTUNTUN_KEY_LEN]);

/*
 * Handshake load: the device counts incoming handshake messages and is under
 * load above `per_second` of them (default 1000; 0 means always under load
 * with no message processed without MAC2, which tests use). Under load an
 * initiation or response without a valid MAC2 is still processed if its
 * source (IPv4 address, IPv6 /64) sends below its fair share of
 * `per_second` and fewer than `per_second` such messages were processed in
 * the last second; otherwise it is answered with a cookie reply (at most
 * 20/s per source, burst 5) and not processed (docs/security.md, "DoS").
 */
void altuntun_device_set_load_threshold(altuntun_device *dev, uint32_t per_second);

/*
 * Runs every timer due at `now` (retransmissions, keepalives, rekeys, key
 * expiry) and returns the monotonic time by which it must be called again.
 */
uint64_t altuntun_tick(altuntun_device *dev, struct altuntun_now now);

/* ---- data path ---- */

/*
 * Encrypts the IP packet at buf + ALTUNTUN_HEADROOM (length `len`, total
 * buffer size `cap`) for the peer that owns its destination. `mtu` is the
 * MTU of the route to that destination (0: 65535): padding never takes the
 * plaintext beyond it. Returns:
 *   ALTUNTUN_OK      out->data/len is the datagram, out->endpoint where to.
 *   ALTUNTUN_QUEUED  copied and held until a handshake completes (started).
 *   < 0              ALTUNTUN_ERR_NO_ROUTE, _NO_ENDPOINT, _BAD_INNER_PACKET,
 *                    _QUEUE_FULL, _BUFFER_TOO_SMALL, _NO_PRIVATE_KEY, ...
 * out->peer is set whenever a peer was found.
 */
int altuntun_send(altuntun_device *dev, struct altuntun_now now, uint8_t *buf, size_t len,
		  size_t cap, size_t mtu, struct altuntun_out *out);

/*
 * Processes a UDP datagram of `len` bytes in `buf` that came from `from`
 * (with the local address it was received on). Returns:
 *   ALTUNTUN_DELIVER  out->data/len: the decrypted IP packet, in buf.
 *   ALTUNTUN_OK       consumed (handshake, cookie, keepalive).
 *   < 0               why it was dropped.
 */
int altuntun_receive(altuntun_device *dev, struct altuntun_now now,
		     const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
		     struct altuntun_out *out);

/*
 * Batches: the same as the single calls, packet by packet, with one result
 * code per packet in `results`. `pkts[i].data/len` are in/out.
 */
struct altuntun_packet {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t mtu;
	struct altuntun_endpoint from; /* receive: source */
	struct altuntun_out out;
	int result;
};
void altuntun_send_batch(altuntun_device *dev, struct altuntun_now now,
			 struct altuntun_packet *pkts, size_t n);
void altuntun_receive_batch(altuntun_device *dev, struct altuntun_now now,
			    struct altuntun_packet *pkts, size_t n);

/*
 * The data path split in steps, for callers that encrypt and decrypt on
 * several threads. The steps that touch the device (the prepares and
 * altuntun_receive_finish) are calls into it like any other: one thread at
 * a time. The AEAD step (altuntun_crypt_seal / _open) touches only the
 * packet and its struct altuntun_crypt, so it may run on any thread, for
 * different packets in parallel, while the device is used.
 *
 * Sending: altuntun_send_prepare() does all of altuntun_send() (peer,
 * session, counter, header, padding, timers) but the encryption; with
 * ALTUNTUN_OK, out->data/len is the datagram to send once
 * altuntun_crypt_seal() has run on `crypt`. Packets must go out in the
 * order they were prepared in only as much as the peer's replay window
 * allows (8128 packets of reordering).
 *
 * Receiving: altuntun_receive_prepare() returns ALTUNTUN_DECRYPT for a data
 * message of a usable session (anything else it handles as altuntun_receive()
 * does, returning the same codes); then altuntun_crypt_open(), then
 * altuntun_receive_finish() with the same from/buf/len, which checks the
 * tag's verdict, the replay window and the session (ALTUNTUN_ERR_KEY_EXPIRED
 * if it ended in between) and returns what altuntun_receive() would have.
 *
 * `crypt` holds a copy of the session key until the AEAD step wipes it.
 */
struct altuntun_crypt {
	uint8_t key[ALTUNTUN_KEY_LEN];
	uint64_t counter;
	uint8_t *data;    /* in the caller's buffer, ALTUNTUN_HEADROOM in */
	size_t len;       /* send: padded plaintext; receive: ciphertext and tag */
	uint32_t index;   /* receive: the receiver index of the message */
	uint64_t session; /* receive: which session it was prepared for */
	bool ok;          /* receive: set by altuntun_crypt_open(): the tag verified */
};
int altuntun_send_prepare(altuntun_device *dev, struct altuntun_now now, uint8_t *buf, size_t len,
			  size_t cap, size_t mtu, struct altuntun_out *out,
			  struct altuntun_crypt *crypt);
int altuntun_receive_prepare(altuntun_device *dev, struct altuntun_now now,
			     const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
			     struct altuntun_out *out, struct altuntun_crypt *crypt);
int altuntun_receive_finish(altuntun_device *dev, struct altuntun_now now,
			    const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
			    struct altuntun_out *out, struct altuntun_crypt *crypt);
/*
 * A context for the AEAD step, one per thread (the data-path cipher keeps
 * state between packets). altuntun_aead_new() returns NULL on allocation
 * failure; a NULL context works too, only slower. Freeing wipes it.
 */
typedef struct altuntun_aead altuntun_aead;
altuntun_aead *altuntun_aead_new(void);
void altuntun_aead_free(altuntun_aead *aead);
/* Encrypts crypt->data in place and appends the tag; wipes crypt->key. */
void altuntun_crypt_seal(altuntun_aead *aead, struct altuntun_crypt *crypt);
/* Verifies and decrypts in place, sets crypt->ok; wipes crypt->key. */
void altuntun_crypt_open(altuntun_aead *aead, struct altuntun_crypt *crypt);

/* ---- peers ---- */

/*
 * Adds the peer with this public key, or returns the existing one. Returns
 * NULL with *err = ALTUNTUN_ERR_PEER_IS_SELF when the key is our own public
 * key (callers ignore such a peer, as Linux and wireguard-go do), or
 * ALTUNTUN_ERR_NOMEM. A low-order key is accepted; nothing is sent to it.
 */
altuntun_peer *altuntun_peer_add(altuntun_device *dev, const uint8_t pub[ALTUNTUN_KEY_LEN],
				 int *err);
altuntun_peer *altuntun_peer_lookup(const altuntun_device *dev, const uint8_t pub[ALTUNTUN_KEY_LEN]);
/* Removes the peer, its allowed IPs and sessions, wiping its keys. */
void altuntun_peer_remove(altuntun_device *dev, altuntun_peer *peer);
/* Peers in the order they were added. */
altuntun_peer *altuntun_peer_first(const altuntun_device *dev);
altuntun_peer *altuntun_peer_next(const altuntun_peer *peer);
size_t altuntun_peer_count(const altuntun_device *dev);

void altuntun_peer_get_public_key(const altuntun_peer *peer, uint8_t pub[ALTUNTUN_KEY_LEN]);
/* NULL or all zeroes removes the preshared key. */
void altuntun_peer_set_preshared_key(altuntun_peer *peer, const uint8_t psk[ALTUNTUN_KEY_LEN]);
bool altuntun_peer_get_preshared_key(const altuntun_peer *peer, uint8_t psk[ALTUNTUN_KEY_LEN]);
int altuntun_peer_set_endpoint(altuntun_peer *peer, const struct sockaddr *sa, socklen_t len);
/* Returns false when the peer has no endpoint. */
bool altuntun_peer_get_endpoint(const altuntun_peer *peer, struct altuntun_endpoint *ep);
/* Forgets the local address our packets to this peer leave from. */
void altuntun_peer_clear_local_address(altuntun_peer *peer);
/* Seconds, 0 = off. Setting it on an up device sends a keepalive at once. */
void altuntun_peer_set_persistent_keepalive(altuntun_device *dev, altuntun_peer *peer,
					    uint16_t seconds, struct altuntun_now now);
uint16_t altuntun_peer_get_persistent_keepalive(const altuntun_peer *peer);
void *altuntun_peer_get_userdata(const altuntun_peer *peer);
void altuntun_peer_set_userdata(altuntun_peer *peer, void *userdata);

struct altuntun_peer_stats {
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t last_handshake_wall_ns; /* 0: never */
	uint64_t handshakes_initiated;   /* initiations sent */
	uint64_t handshakes_completed;   /* sessions derived */
};
void altuntun_peer_get_stats(const altuntun_peer *peer, struct altuntun_peer_stats *st);

/* ---- allowed IPs ---- */

/*
 * Adds a prefix (host bits are cleared). A prefix another peer owns moves to
 * this one. family is AF_INET or AF_INET6; cidr at most 32 or 128.
 */
int altuntun_peer_add_allowed_ip(altuntun_device *dev, altuntun_peer *peer, int family,
				 const void *addr, uint8_t cidr);
/* Removes the prefix if this peer owns it; ALTUNTUN_ERR_NOT_FOUND else. */
int altuntun_peer_remove_allowed_ip(altuntun_device *dev, altuntun_peer *peer, int family,
				    const void *addr, uint8_t cidr);
void altuntun_peer_clear_allowed_ips(altuntun_device *dev, altuntun_peer *peer);
size_t altuntun_peer_allowed_ip_count(const altuntun_peer *peer);
/* Calls fn for each prefix of the peer; stops when fn returns non-zero and
 * returns that value. */
int altuntun_peer_foreach_allowed_ip(const altuntun_peer *peer,
				     int (*fn)(void *ctx, int family, const void *addr, uint8_t cidr),
				     void *ctx);
/* The peer that owns the address, or NULL. */
altuntun_peer *altuntun_allowed_ip_lookup(const altuntun_device *dev, int family, const void *addr);

/* ---- keys ---- */

/* Generates a private key (clamped). */
void altuntun_generate_private_key(uint8_t key[ALTUNTUN_KEY_LEN]);
/* Public key of a private key; ALTUNTUN_ERR_BAD_KEY if it is zero. */
int altuntun_public_key(uint8_t pub[ALTUNTUN_KEY_LEN], const uint8_t priv[ALTUNTUN_KEY_LEN]);
/* Base64 (44 characters + NUL) and hex (64 + NUL) forms, as wg(8) uses. */
void altuntun_key_to_base64(char out[45], const uint8_t key[ALTUNTUN_KEY_LEN]);
int altuntun_key_from_base64(uint8_t key[ALTUNTUN_KEY_LEN], const char *in);
void altuntun_key_to_hex(char out[65], const uint8_t key[ALTUNTUN_KEY_LEN]);
int altuntun_key_from_hex(uint8_t key[ALTUNTUN_KEY_LEN], const char *in);
bool altuntun_key_is_zero(const uint8_t key[ALTUNTUN_KEY_LEN]);

/* Must be called once before anything else (initialises libsodium, and
 * OpenSSL's ChaCha20-Poly1305 for data messages in the default build). */
int altuntun_init(void);
/*
 * altuntun_init() without the data-path AEAD's set-up, for a process that
 * configures devices but moves no traffic (altuntun-cli's privileged
 * parent, which forks the process that does and calls altuntun_init()
 * there): saves OpenSSL's initialisation. Data messages such a process
 * encrypts anyway go through libsodium. altuntun_init() may follow.
 */
int altuntun_init_control(void);

#ifdef __cplusplus
}
#endif
#endif
