// SPDX-License-Identifier: BSD-3-Clause
/*
 * udp_garbage: sends random datagrams at a WireGuard listen port as fast as
 * it can, for tests/netns/udp_garbage.sh.
 *
 *     udp_garbage ADDRESS PORT SECONDS
 *
 * Every datagram is one of: a message of type 1-4 with the header the type
 * wants (type, three zero bytes) and a random body of the right length, the
 * same with a wrong length or non-zero reserved bytes, a random type byte,
 * or nothing but random bytes; sizes from 0 to 65507 (the largest UDP
 * payload over IPv4), most of them below 1500 so the rate stays high. It
 * sends from 8 source ports in batches (sendmmsg) and prints what it sent
 * per kind, the total and the rate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 65507
#define BATCH 64
#define N_SOCKS 8
#define POOL_SIZE (4u << 20)

enum kind {
	K_INIT, K_RESP, K_COOKIE, K_DATA,            /* right length, random body */
	K_INIT_BAD, K_RESP_BAD, K_COOKIE_BAD, K_DATA_SHORT, /* wrong length */
	K_RESERVED,                                  /* type 1-4, reserved bytes set */
	K_RANDOM_TYPE,                               /* type 0 or 5-255 */
	K_RANDOM,                                    /* anything, any size */
	K_EMPTY,
	K_HUGE,                                      /* 1500..65507 bytes */
	N_KINDS
};

static const char *const kind_names[N_KINDS] = {
	"initiation(148)", "response(92)", "cookie(64)", "data(32+)",
	"initiation(wrong length)", "response(wrong length)", "cookie(wrong length)",
	"data(<32)", "type 1-4, reserved bytes set", "other types", "random bytes",
	"empty", "1500-65507 bytes",
};

static uint64_t rng_state;

/* xorshift64*: fast, and good enough to pick sizes and offsets. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* A length other than `right`, below `max`. */
static size_t wrong_len(size_t right, size_t max)
{
	size_t n;

	do
		n = rnd_below(max);
	while (n == right);
	return n;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills msg (from the random pool) as one datagram of kind k; returns its length. */
static size_t make(uint8_t *msg, const uint8_t *pool, enum kind k)
{
	size_t len;
	uint8_t type = 0;
	int header = 1;

	switch (k) {
	case K_INIT: len = 148; type = 1; break;
	case K_RESP: len = 92; type = 2; break;
	case K_COOKIE: len = 64; type = 3; break;
	case K_DATA: len = 32 + rnd_below(1440); type = 4; break;
	case K_INIT_BAD: len = wrong_len(148, 1500); type = 1; break;
	case K_RESP_BAD: len = wrong_len(92, 1500); type = 2; break;
	case K_COOKIE_BAD: len = wrong_len(64, 1500); type = 3; break;
	case K_DATA_SHORT: len = rnd_below(32); type = 4; break;
	case K_RESERVED: len = rnd_below(1500); type = (uint8_t)(1 + rnd_below(4)); break;
	case K_RANDOM_TYPE:
		len = 1 + rnd_below(1500);
		do
			type = (uint8_t)rnd();
		while (type >= 1 && type <= 4);
		break;
	case K_EMPTY: len = 0; header = 0; break;
	case K_HUGE: len = 1500 + rnd_below(MAX_PAYLOAD - 1500 + 1); header = 0; break;
	default: len = rnd_below(1500); header = 0; break;
	}
	memcpy(msg, pool + rnd_below(POOL_SIZE - MAX_PAYLOAD), len);
	if (header && len > 0) {
		msg[0] = type;
		if (k == K_RESERVED) {
			if (len > 1 + 3)
				msg[1 + rnd_below(3)] |= (uint8_t)(1 + rnd_below(255));
		} else {
			memset(msg + 1, 0, len < 4 ? len - 1 : 3);
		}
	}
	return len;
}

static enum kind pick_kind(void)
{
	/* Huge datagrams are 45 IP fragments each: one in 64. */
	if (rnd_below(64) == 0)
		return K_HUGE;
	return (enum kind)rnd_below(K_HUGE);
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][MAX_PAYLOAD];
	unsigned long long counts[N_KINDS] = { 0 }, sent = 0, failed = 0;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	enum kind kinds[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int socks[N_SOCKS];
	double seconds, start, end;
	uint8_t *pool;
	char *endp;
	long port;

	if (argc != 4) {
		fprintf(stderr, "usage: %s ADDRESS PORT SECONDS\n", argv[0]);
		return 2;
	}
	port = strtol(argv[2], &endp, 10);
	seconds = strtod(argv[3], NULL);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 || *endp || port < 1 || port > 65535 ||
	    seconds <= 0 || seconds > 600) {
		fprintf(stderr, "%s: bad address, port or duration\n", argv[0]);
		return 2;
	}
	dst.sin_port = htons((uint16_t)port);
	pool = malloc(POOL_SIZE);
	if (!pool) {
		perror("malloc");
		return 1;
	}
	for (size_t off = 0; off < POOL_SIZE;) {
		ssize_t n = getrandom(pool + off, POOL_SIZE - off, 0);

		if (n < 0) {
			perror("getrandom");
			return 1;
		}
		off += (size_t)n;
	}
	memcpy(&rng_state, pool, sizeof(rng_state));
	rng_state |= 1;
	for (int i = 0; i < N_SOCKS; i++) {
		socks[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (socks[i] < 0 || connect(socks[i], (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("socket/connect");
			return 1;
		}
	}
	start = now_sec();
	end = start + seconds;
	for (unsigned long round = 0; now_sec() < end; round++) {
		int fd = socks[round % N_SOCKS], n;

		for (int i = 0; i < BATCH; i++) {
			kinds[i] = pick_kind();
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = make(bufs[i], pool, kinds[i]);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0) {
			/* ECONNREFUSED from an ICMP error, ENOBUFS: go on. */
			if (errno != ECONNREFUSED && errno != ENOBUFS && errno != EAGAIN &&
			    errno != EINTR) {
				perror("sendmmsg");
				return 1;
			}
			failed += BATCH;
			continue;
		}
		for (int i = 0; i < n; i++)
			counts[kinds[i]]++;
		sent += (unsigned long long)n;
		failed += (unsigned long long)(BATCH - n);
	}
	seconds = now_sec() - start;
	for (int k = 0; k < N_KINDS; k++)
		printf("%s: %llu\n", kind_names[k], counts[k]);
	printf("sent %llu datagrams in %.1f s (%.0f per second), %llu not sent\n", sent, seconds,
	       (double)sent / seconds, failed);
	free(pool);
	return 0;
}
