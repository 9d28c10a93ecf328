/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device fuzz_receive attacks, and the one input format both it and
 * make-corpus use, so that a recorded exchange replays exactly:
 *
 *   input   := flags record*
 *   record  := delay:u8 sel:u8 len:u16le data[len]   (data may be cut short)
 *
 * `flags` (RXW_*) chooses the set-up; a device is built afresh for every
 * input, and the random source restarts, so an input always replays alike.
 * For each record the fake clock moves on by fuzz_delay_ns(delay), timers
 * run (altuntun_tick), then `data` is
 *   sel bits 6-7 = 0: a datagram to altuntun_receive(), from the source
 *                     sel bits 0-1 choose (bit 2: with a local address, as
 *                     a daemon reports it; bit 3: through
 *                     altuntun_receive_batch(); bit 4: a handshake message
 *                     gets a valid MAC1 first, so that the fuzzer's changes
 *                     to its content reach the Noise code; bit 5: through
 *                     the split data path: altuntun_receive_prepare() and
 *                     altuntun_crypt_open() now, altuntun_receive_finish()
 *                     after the next record that is not such a receive, or
 *                     when RXW_MAX_PENDING wait);
 *                  1, 2: an inner packet for altuntun_send() (MTU 1420, or
 *                     unbounded padding for 2);
 *                  3: a change of configuration, as the UAPI makes them:
 *                     data[0] an enum rxw_ctl, data[1] its argument.
 *
 * The device "D" (key 1, 192.0.2.1:51820, 10.0.0.1) has peer P1 (key 2,
 * 192.0.2.2:51820, 10.0.0.2/32 fd00::2/128), with RXW_TWO_PEERS P2 (key 3,
 * [2001:db8::2]:51820, 10.0.0.3/32 10.1.0.0/16 fd00::3/128), and with
 * RXW_LOW_ORDER a peer whose key is a low-order point (10.0.0.4/32).
 */
#ifndef ALTUNTUN_FUZZ_RX_WORLD_H
#define ALTUNTUN_FUZZ_RX_WORLD_H

#include "fuzz_common.h"

enum {
	RXW_UNDER_LOAD = 1 << 0,  /* load threshold 0: cookies required */
	RXW_PSK = 1 << 1,         /* P1 has a preshared key */
	RXW_TWO_PEERS = 1 << 2,   /* P2 exists */
	RXW_KEEPALIVE = 1 << 3,   /* P1 has a 25 s persistent keepalive */
	RXW_NO_ENDPOINT = 1 << 4, /* P1's endpoint is unknown until it talks */
	RXW_LOW_ORDER = 1 << 5,   /* a third peer, with a low-order key */
};

/* Configuration changes (records with RXW_OP_CONTROL). */
enum rxw_ctl {
	RXW_CTL_KEY_SAME,    /* D's private key set again: nothing changes */
	RXW_CTL_KEY_REMOVE,  /* D loses its private key */
	RXW_CTL_KEY_OTHER,   /* another key: arg odd P1's own, which removes P1 */
	RXW_CTL_KEY_RESTORE, /* D's own key back */
	RXW_CTL_REMOVE_P2,
	RXW_CTL_READD_P1,    /* P1 removed and added again, sessions lost */
	RXW_CTL_KEEPALIVE,   /* P1's persistent keepalive: arg seconds */
	RXW_CTL_LOAD,        /* load threshold: arg */
	RXW_CTL_CLEAR_LOCAL, /* P1 forgets its local address */
	RXW_CTL_PSK,         /* P1's preshared key: arg 0 none, else the usual */
	RXW_CTL_ENDPOINT,    /* P1's endpoint: the source arg stands for */
	RXW_CTL_MOVE_PREFIX, /* 10.0.0.0/8 to P2 (or to P1 without P2) */
	RXW_CTL_DROP_PREFIX, /* P1 loses 10.0.0.2/32 */
	RXW_CTL_COUNT
};

enum { RXW_KEY_D = 1, RXW_KEY_P1 = 2, RXW_KEY_P2 = 3, RXW_KEY_OTHER = 4 };

#define RXW_SEL_P1 0 /* the source P1 sends from */
#define RXW_SEL_P2 1 /* the source P2 sends from */
#define RXW_SEL_OTHER4 2
#define RXW_SEL_OTHER6 3
#define RXW_SEL_LOCAL 0x04
#define RXW_SEL_BATCH 0x08 /* through altuntun_receive_batch() */
#define RXW_SEL_FIX_MAC1 0x10
#define RXW_SEL_SPLIT 0x20
#define RXW_OP_SEND 0x40
#define RXW_OP_SEND_NOMTU 0x80
#define RXW_OP_CONTROL 0xc0
#define RXW_RECORD_HEADER 4
#define RXW_MTU 1420

/* Where D's datagrams go; make-corpus passes them on, the fuzzer drops them. */
typedef void rxw_output(void *ctx, const struct altuntun_endpoint *to, const uint8_t *data,
			size_t len);

/* What D did: datagrams sent by message type (index 1-4), packets delivered. */
struct rxw_stats {
	uint64_t sent[5];
	uint64_t delivered;
};

/* Bounds the work of one input (each record may cost a handshake). */
#define RXW_MAX_RECORDS 512

/* A data message D accepted: its receiver index and counter. */
struct rxw_accepted {
	uint32_t index;
	uint64_t counter;
};

/* A data message between altuntun_receive_prepare() and _finish(). */
struct rxw_pending {
	uint8_t *buf; /* NULL: none */
	size_t len;
	uint8_t header[16]; /* as it came */
	struct altuntun_endpoint from;
	struct altuntun_crypt crypt;
};

#define RXW_MAX_PENDING 4

struct rx_world {
	altuntun_device *dev;
	altuntun_aead *aead;
	struct rxw_pending pending[RXW_MAX_PENDING]; /* oldest first */
	size_t n_pending;
	altuntun_peer *peer[2]; /* P1, P2; NULL when absent or removed */
	uint8_t flags;
	struct altuntun_now now;
	struct fuzz_rng rng;
	rxw_output *output;
	void *ctx;
	struct rxw_stats stats;
	/* No data message may be accepted twice (the replay window). */
	struct rxw_accepted accepted[RXW_MAX_RECORDS];
	size_t n_accepted;
};

/* A point of order 8 on Curve25519: Diffie-Hellman with it gives zero. */
extern const uint8_t rxw_low_order_point[ALTUNTUN_KEY_LEN];

/* Addresses of the set-up: D's own (IPv4 and IPv6), P1's, P2's. */
void rxw_addr_d(struct altuntun_endpoint *ep);
void rxw_addr_d6(struct altuntun_endpoint *ep);
void rxw_addr_p1(struct altuntun_endpoint *ep);
void rxw_addr_p2(struct altuntun_endpoint *ep);
void rxw_psk(uint8_t psk[ALTUNTUN_KEY_LEN]);
/* The source address a record's sel byte stands for. */
void rxw_source(uint8_t sel, struct altuntun_endpoint *ep);

/* Builds D as `flags` says; output may be NULL. */
void rxw_init(struct rx_world *w, uint8_t flags, rxw_output *output, void *ctx);
void rxw_free(struct rx_world *w);
/* Plays one record (data is copied, never written). */
void rxw_step(struct rx_world *w, uint8_t delay, uint8_t sel, const uint8_t *data, size_t len);
/* Plays a whole input (flags, then records) to a fresh D; st may be NULL. */
void rxw_play(const uint8_t *data, size_t size, struct rxw_stats *st);

#endif
