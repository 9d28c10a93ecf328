/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hsgen: handshake load generator for bench/run-all (part "handshake").
 *
 *   hsgen gen --clients N --per-client M --pool FILE --conf FILE [--port P] [--jobs J]
 *
 *       Creates a responder identity and N client identities, and uses
 *       libaltuntun in-process to build M valid handshake initiations per
 *       client addressed to the responder (one altuntun_device per client,
 *       with the responder as its only peer: altuntun_send() on an IP packet
 *       starts a handshake and the initiation is captured in the send
 *       callback; later ones come from the retransmission timer on a fake
 *       clock, so every initiation carries a newer TAI64N timestamp).
 *       Writes the initiations (148 bytes each, client-minor order) to the
 *       pool FILE and a wg(8) configuration for the responder (its private
 *       key, ListenPort P, one [Peer] per client) to the conf FILE.
 *
 *       A fresh responder process accepts the pool once, so one pool serves
 *       every implementation and round, as long as each run sends at most
 *       N * M initiations (more and the pool wraps: replays, reported).
 *
 *   hsgen blast --pool FILE --to IP:PORT --seconds T [--rate R] [--sources K
 *               --src-net A.B.C.D] [--mac2] [--port P]
 *
 *       Sends the pool's initiations over UDP to IP:PORT for T seconds, at R
 *       per second (0: as fast as the socket takes them), and counts what
 *       comes back: handshake responses (type 2) and cookie replies (type 3).
 *       --sources K spreads the packets over K source addresses A.B.C.D+1 ..
 *       +K (they must be local; bench/run-all adds a local route for them)
 *       with IP_PKTINFO from a single socket. With --mac2 it behaves like a
 *       legitimate client under load: it decrypts cookie replies and puts a
 *       valid MAC2 on every later initiation from that source address.
 *       SIGTERM or SIGINT ends the run early (seconds= is then the time it
 *       ran). Prints one line of key=value results.
 */
#include <arpa/inet.h>
#include <blake2.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "altuntun.h"

#define INIT_LEN 148
#define RESP_LEN 92
#define COOKIE_LEN 64
#define MAC1_OFF 116
#define MAC2_OFF 132
#define POOL_MAGIC "HSGENPL1"

struct pool_header {
	char magic[8];
	uint32_t clients;
	uint32_t per_client;
	uint8_t responder_pub[32];
	uint8_t pad[16];
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hsgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- gen ------------------------------------------------------------------ */

struct capture {
	uint8_t msg[INIT_LEN];
	size_t len;
	unsigned count;
};

static int capture_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
			const uint8_t *data, size_t len)
{
	struct capture *c = ctx;
	(void)peer;
	(void)to;
	if (len == INIT_LEN && data[0] == 1) {
		memcpy(c->msg, data, INIT_LEN);
		c->len = len;
		c->count++;
	}
	return 0;
}

/* A minimal IPv4/UDP packet to 10.0.0.2, enough to route to the peer. */
static size_t make_ip_packet(uint8_t *p)
{
	struct iphdr *ip = (struct iphdr *)p;
	memset(p, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(28);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(0x0a000001);
	ip->daddr = htonl(0x0a000002);
	return 28;
}

static void gen_client(const uint8_t resp_pub[32], uint32_t per_client, uint32_t clients,
		       uint32_t c, uint8_t *pool_records, uint8_t *pub_out)
{
	struct capture cap = { 0 };
	struct altuntun_callbacks cb = { .send = capture_send, .ctx = &cap };
	altuntun_device *dev = altuntun_device_new(&cb);
	uint8_t priv[32], buf[256];
	struct altuntun_out out;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(51820) };
	struct altuntun_now now = { .mono_ns = 1000000000ULL, .wall_ns = wall_ns() };
	altuntun_peer *peer;
	int err = 0;
	uint32_t j;
	const uint8_t any[4] = { 0 };

	if (!dev)
		die("altuntun_device_new failed");
	altuntun_generate_private_key(priv);
	if (altuntun_device_set_private_key(dev, priv) != 0)
		die("set_private_key failed");
	altuntun_device_get_public_key(dev, pub_out);
	peer = altuntun_peer_add(dev, resp_pub, &err);
	if (!peer)
		die("peer_add: %s", altuntun_strerror(err));
	sin.sin_addr.s_addr = htonl(0x0a000001);
	if (altuntun_peer_set_endpoint(peer, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		die("set_endpoint failed");
	if (altuntun_peer_add_allowed_ip(dev, peer, AF_INET, any, 0) != 0)
		die("add_allowed_ip failed");

	for (j = 0; j < per_client; j++) {
		unsigned before = cap.count, tries;
		for (tries = 0; cap.count == before && tries < 64; tries++) {
			if (j > 0 || tries > 0) {
				/* past REKEY_TIMEOUT + jitter: the retransmission timer fires */
				now.mono_ns += 6ULL * 1000000000ULL;
				now.wall_ns += 6ULL * 1000000000ULL;
				altuntun_tick(dev, now);
			}
			if (cap.count == before) {
				size_t n = make_ip_packet(buf + ALTUNTUN_HEADROOM);
				int r = altuntun_send(dev, now, buf, n, sizeof(buf), 0, &out);
				if (r < 0 && r != ALTUNTUN_ERR_QUEUE_FULL)
					die("altuntun_send: %s", altuntun_strerror(r));
			}
		}
		if (cap.count == before)
			die("client %u: no initiation after %u tries", c, tries);
		memcpy(pool_records + ((size_t)j * clients + c) * INIT_LEN, cap.msg, INIT_LEN);
	}
	altuntun_device_free(dev);
	sodium_memzero(priv, sizeof(priv));
}

static int cmd_gen(int argc, char **argv)
{
	uint32_t clients = 2000, per_client = 10, port = 51820, jobs = 2, c;
	const char *pool_path = NULL, *conf_path = NULL;
	uint8_t resp_priv[32], resp_pub[32];
	char b64[45];
	int i, fd;
	size_t size;
	uint8_t *map, *pubs;
	FILE *f;
	uint64_t t0 = mono_ns();

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--per-client") && i + 1 < argc)
			per_client = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			jobs = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			pool_path = argv[++i];
		else if (!strcmp(argv[i], "--conf") && i + 1 < argc)
			conf_path = argv[++i];
		else
			die("gen: unknown argument %s", argv[i]);
	}
	if (!pool_path || !conf_path || !clients || !per_client || !jobs)
		die("gen: need --pool, --conf, positive --clients/--per-client/--jobs");

	altuntun_generate_private_key(resp_priv);
	if (altuntun_public_key(resp_pub, resp_priv) != 0)
		die("responder public key");

	size = sizeof(struct pool_header) + (size_t)clients * per_client * INIT_LEN;
	fd = open(pool_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		die("%s: %s", pool_path, strerror(errno));
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	pubs = mmap(NULL, (size_t)clients * 32, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	if (pubs == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	/* Workers share the file mapping; each takes every jobs-th client. */
	for (uint32_t w = 0; w < jobs; w++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			if (sodium_init() < 0)
				_exit(1);
			for (c = w; c < clients; c += jobs)
				gen_client(resp_pub, per_client, clients, c,
					   map + sizeof(struct pool_header), pubs + (size_t)c * 32);
			_exit(0);
		}
	}
	for (uint32_t w = 0; w < jobs; w++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("a generator worker failed");
	}
	{
		struct pool_header h = { .clients = clients, .per_client = per_client };
		memcpy(h.magic, POOL_MAGIC, 8);
		memcpy(h.responder_pub, resp_pub, 32);
		memcpy(map, &h, sizeof(h));
	}
	if (msync(map, size, MS_SYNC) != 0)
		die("msync: %s", strerror(errno));
	munmap(map, size);
	close(fd);

	f = fopen(conf_path, "w");
	if (!f)
		die("%s: %s", conf_path, strerror(errno));
	altuntun_key_to_base64(b64, resp_priv);
	fprintf(f, "[Interface]\nPrivateKey = %s\nListenPort = %u\n", b64, port);
	for (c = 0; c < clients; c++) {
		altuntun_key_to_base64(b64, pubs + (size_t)c * 32);
		fprintf(f, "\n[Peer]\nPublicKey = %s\n", b64);
	}
	if (fclose(f) != 0)
		die("%s: write failed", conf_path);
	sodium_memzero(resp_priv, sizeof(resp_priv));
	altuntun_key_to_base64(b64, resp_pub);
	printf("gen: clients=%u per_client=%u initiations=%zu responder=%s seconds=%.2f\n",
	       clients, per_client, (size_t)clients * per_client, b64,
	       (double)(mono_ns() - t0) / 1e9);
	return 0;
}

/* ---- blast ---------------------------------------------------------------- */

#define BATCH 64
#define MAX_SECONDS 600

struct idx_entry {
	uint32_t index;
	uint32_t rec; /* record number + 1; 0 = empty */
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static int cmd_blast(int argc, char **argv)
{
	const char *pool_path = NULL, *to = NULL;
	double seconds = 3, rate = 0;
	uint32_t sources = 1, src_base = 0, bind_port = 0;
	bool mac2 = false;
	int i, fd, sock;
	struct stat st;
	const uint8_t *map, *recs;
	const struct pool_header *h;
	size_t nrec;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint8_t cookie_key[32];
	uint8_t (*cookies)[16];
	bool *have_cookie;
	struct idx_entry *tab = NULL;
	size_t tab_mask = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			pool_path = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--sources") && i + 1 < argc)
			sources = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			bind_port = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--src-net") && i + 1 < argc) {
			struct in_addr a;
			if (inet_pton(AF_INET, argv[++i], &a) != 1)
				die("bad --src-net %s", argv[i]);
			src_base = ntohl(a.s_addr);
		} else if (!strcmp(argv[i], "--mac2"))
			mac2 = true;
		else
			die("blast: unknown argument %s", argv[i]);
	}
	if (!pool_path || !to)
		die("blast: need --pool and --to");
	if (seconds <= 0 || seconds > MAX_SECONDS)
		die("blast: --seconds must be in (0, %d]", MAX_SECONDS);
	if (sources < 1)
		sources = 1;
	if (sources > 1 && !src_base)
		die("blast: --sources needs --src-net");
	{
		char host[64];
		const char *colon = strrchr(to, ':');
		if (!colon || (size_t)(colon - to) >= sizeof(host))
			die("bad --to %s", to);
		memcpy(host, to, (size_t)(colon - to));
		host[colon - to] = 0;
		if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
			die("bad --to %s", to);
		dst.sin_port = htons((uint16_t)atoi(colon + 1));
	}

	fd = open(pool_path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		die("%s: %s", pool_path, strerror(errno));
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	h = (const void *)map;
	if ((size_t)st.st_size < sizeof(*h) || memcmp(h->magic, POOL_MAGIC, 8) != 0)
		die("%s: not a pool", pool_path);
	nrec = (size_t)h->clients * h->per_client;
	if ((size_t)st.st_size != sizeof(*h) + nrec * INIT_LEN)
		die("%s: truncated", pool_path);
	recs = map + sizeof(*h);

	/* BLAKE2s("cookie--" || responder public key) decrypts cookie replies. */
	{
		uint8_t in[8 + 32];
		memcpy(in, "cookie--", 8);
		memcpy(in + 8, h->responder_pub, 32);
		blake2s(cookie_key, in, NULL, 32, sizeof(in), 0);
	}
	cookies = calloc(sources, sizeof(*cookies));
	have_cookie = calloc(sources, sizeof(*have_cookie));
	if (!cookies || !have_cookie)
		die("out of memory");
	if (mac2) {
		/* sender index -> record, to find the MAC1 a cookie reply answers */
		size_t cap = 1;
		while (cap < nrec * 2)
			cap <<= 1;
		tab = calloc(cap, sizeof(*tab));
		if (!tab)
			die("out of memory");
		tab_mask = cap - 1;
		for (size_t r = 0; r < nrec; r++) {
			uint32_t idx;
			memcpy(&idx, recs + r * INIT_LEN + 4, 4);
			size_t s = hash32(idx) & tab_mask;
			while (tab[s].rec)
				s = (s + 1) & tab_mask;
			tab[s].index = idx;
			tab[s].rec = (uint32_t)r + 1;
		}
	}

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (sock < 0)
		die("socket: %s", strerror(errno));
	{
		int one = 1, big = 16 << 20;
		struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons((uint16_t)bind_port) };
		setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
		if (setsockopt(sock, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0)
			die("IP_PKTINFO: %s", strerror(errno));
		/* lets sendmsg use any address of the local route as source */
		setsockopt(sock, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (bind(sock, (struct sockaddr *)&any, sizeof(any)) != 0)
			die("bind: %s", strerror(errno));
	}

	static uint8_t sbuf[BATCH][INIT_LEN];
	static uint8_t scmsg[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	static uint8_t rbuf[BATCH][256];
	static uint8_t rcmsg[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct mmsghdr smsg[BATCH], rmsg[BATCH];
	struct iovec siov[BATCH], riov[BATCH];
	struct sockaddr_in rfrom[BATCH];
	unsigned nbuckets = (unsigned)seconds + 2;
	uint64_t *b_resp = calloc(nbuckets, sizeof(uint64_t));
	uint64_t *b_cookie = calloc(nbuckets, sizeof(uint64_t));
	uint64_t sent = 0, responses = 0, cookie_replies = 0, other = 0, eagain = 0,
		 with_mac2 = 0, cookie_bad = 0, late_resp = 0, late_cookie = 0;
	uint64_t t0, end_ns, drain_end;
	bool wrapped = false;

	if (!b_resp || !b_cookie)
		die("out of memory");
	for (i = 0; i < BATCH; i++) {
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = sizeof(rbuf[i]);
	}

	{
		struct sigaction sa = { .sa_handler = on_stop };
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
			die("sigaction: %s", strerror(errno));
	}
	t0 = mono_ns();
	end_ns = t0 + (uint64_t)(seconds * 1e9);
	drain_end = end_ns + 300000000ULL;
	for (;;) {
		uint64_t now = mono_ns();
		bool did = false;
		if (now >= drain_end)
			break;
		if (stop_requested) {
			if (now < end_ns)
				seconds = (double)(now - t0) / 1e9;
			break;
		}

		/* send what is due */
		if (now < end_ns) {
			uint64_t due = rate > 0 ? (uint64_t)(rate * (double)(now - t0) / 1e9) + 1 : sent + BATCH;
			unsigned n = 0;
			while (sent + n < due && n < BATCH) {
				uint64_t k = sent + n;
				size_t r = (size_t)(k % nrec);
				uint32_t s = (uint32_t)(k % sources);
				memcpy(sbuf[n], recs + r * INIT_LEN, INIT_LEN);
				if (mac2 && have_cookie[s]) {
					blake2s(sbuf[n] + MAC2_OFF, sbuf[n], cookies[s], 16, MAC2_OFF, 16);
					with_mac2++;
				}
				memset(&smsg[n], 0, sizeof(smsg[n]));
				siov[n].iov_base = sbuf[n];
				siov[n].iov_len = INIT_LEN;
				smsg[n].msg_hdr.msg_name = &dst;
				smsg[n].msg_hdr.msg_namelen = sizeof(dst);
				smsg[n].msg_hdr.msg_iov = &siov[n];
				smsg[n].msg_hdr.msg_iovlen = 1;
				if (sources > 1) {
					struct cmsghdr *cm;
					struct in_pktinfo pi = { 0 };
					smsg[n].msg_hdr.msg_control = scmsg[n];
					smsg[n].msg_hdr.msg_controllen = sizeof(scmsg[n]);
					cm = CMSG_FIRSTHDR(&smsg[n].msg_hdr);
					cm->cmsg_level = IPPROTO_IP;
					cm->cmsg_type = IP_PKTINFO;
					cm->cmsg_len = CMSG_LEN(sizeof(pi));
					pi.ipi_spec_dst.s_addr = htonl(src_base + 1 + s);
					memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
				}
				n++;
			}
			if (n > 0) {
				int m = sendmmsg(sock, smsg, n, 0);
				if (m < 0) {
					if (errno == EAGAIN || errno == ENOBUFS)
						eagain++;
					else
						die("sendmmsg: %s", strerror(errno));
				} else {
					sent += (uint64_t)m;
					if (m > 0)
						did = true;
				}
				if (sent > nrec)
					wrapped = true;
			}
		}

		/* receive everything pending */
		for (;;) {
			int m;
			for (i = 0; i < BATCH; i++) {
				memset(&rmsg[i].msg_hdr, 0, sizeof(rmsg[i].msg_hdr));
				rmsg[i].msg_hdr.msg_name = &rfrom[i];
				rmsg[i].msg_hdr.msg_namelen = sizeof(rfrom[i]);
				rmsg[i].msg_hdr.msg_iov = &riov[i];
				rmsg[i].msg_hdr.msg_iovlen = 1;
				rmsg[i].msg_hdr.msg_control = rcmsg[i];
				rmsg[i].msg_hdr.msg_controllen = sizeof(rcmsg[i]);
			}
			m = recvmmsg(sock, rmsg, BATCH, MSG_DONTWAIT, NULL);
			if (m <= 0)
				break;
			did = true;
			now = mono_ns();
			unsigned b = (unsigned)((now - t0) / 1000000000ULL);
			bool in_window = now < end_ns;
			if (b >= nbuckets)
				b = nbuckets - 1;
			for (i = 0; i < m; i++) {
				const uint8_t *p = rbuf[i];
				unsigned len = rmsg[i].msg_len;
				if (len == RESP_LEN && p[0] == 2) {
					if (in_window)
						responses++;
					else
						late_resp++;
					b_resp[b]++;
				} else if (len == COOKIE_LEN && p[0] == 3) {
					if (in_window)
						cookie_replies++;
					else
						late_cookie++;
					b_cookie[b]++;
					if (mac2) {
						uint32_t idx, s = 0;
						struct cmsghdr *cm;
						memcpy(&idx, p + 4, 4);
						for (cm = CMSG_FIRSTHDR(&rmsg[i].msg_hdr); cm;
						     cm = CMSG_NXTHDR(&rmsg[i].msg_hdr, cm)) {
							if (cm->cmsg_level == IPPROTO_IP &&
							    cm->cmsg_type == IP_PKTINFO) {
								struct in_pktinfo pi;
								memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
								uint32_t a = ntohl(pi.ipi_addr.s_addr);
								if (sources > 1 && a > src_base &&
								    a - src_base - 1 < sources)
									s = a - src_base - 1;
							}
						}
						size_t t = hash32(idx) & tab_mask;
						while (tab[t].rec && tab[t].index != idx)
							t = (t + 1) & tab_mask;
						if (!tab[t].rec) {
							cookie_bad++;
							continue;
						}
						const uint8_t *mac1 =
							recs + (size_t)(tab[t].rec - 1) * INIT_LEN + MAC1_OFF;
						uint8_t ck[16];
						if (crypto_aead_xchacha20poly1305_ietf_decrypt(
							    ck, NULL, NULL, p + 32, 32, mac1, 16, p + 8,
							    cookie_key) != 0) {
							cookie_bad++;
							continue;
						}
						memcpy(cookies[s], ck, 16);
						have_cookie[s] = true;
					}
				} else {
					other++;
				}
			}
		}

		if (!did) {
			/* nothing to do: wait for a reply or the next send slot */
			struct pollfd pfd = { .fd = sock, .events = POLLIN };
			int timeout_ms = 1;
			if (rate > 0 && now < end_ns) {
				double next = (double)(sent + 1) / rate * 1e9 + (double)t0;
				timeout_ms = next > (double)now ? (int)((next - (double)now) / 1e6) : 0;
				if (timeout_ms > 1)
					timeout_ms = 1;
			} else if (rate <= 0 && now < end_ns) {
				pfd.events |= POLLOUT;
			}
			poll(&pfd, 1, timeout_ms);
		}
	}

	printf("blast: seconds=%.3f rate=%.0f sources=%u mac2=%d sent=%" PRIu64
	       " responses=%" PRIu64 " cookies=%" PRIu64 " other=%" PRIu64
	       " resp_per_s=%.1f cookie_per_s=%.1f sent_per_s=%.1f with_mac2=%" PRIu64
	       " cookie_bad=%" PRIu64 " late_responses=%" PRIu64 " late_cookies=%" PRIu64
	       " send_eagain=%" PRIu64 " pool=%zu wrapped=%d",
	       seconds, rate, sources, mac2, sent, responses, cookie_replies, other,
	       (double)responses / seconds, (double)cookie_replies / seconds,
	       (double)sent / seconds, with_mac2, cookie_bad, late_resp, late_cookie, eagain, nrec,
	       wrapped);
	printf(" per_second_responses=");
	for (unsigned b = 0; b < nbuckets; b++)
		printf("%s%" PRIu64, b ? "," : "", b_resp[b]);
	printf(" per_second_cookies=");
	for (unsigned b = 0; b < nbuckets; b++)
		printf("%s%" PRIu64, b ? "," : "", b_cookie[b]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (altuntun_init() != 0)
		die("altuntun_init failed");
	if (argc >= 2 && !strcmp(argv[1], "gen"))
		return cmd_gen(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "blast"))
		return cmd_blast(argc - 2, argv + 2);
	fprintf(stderr, "usage: hsgen gen --clients N --per-client M --pool FILE --conf FILE "
			"[--port P] [--jobs J]\n"
			"       hsgen blast --pool FILE --to IP:PORT --seconds T [--rate R] "
			"[--sources K --src-net A.B.C.D] [--mac2] [--port P]\n");
	return 2;
}
