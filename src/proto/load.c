/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handshake load and who pays for it (docs/security.md, "DoS").
 *
 * The device counts handshake messages per second and is under load above
 * its threshold (load_threshold: the messages it can afford to answer with
 * a Diffie-Hellman each, per second). Under load a message must carry a
 * valid MAC2 (the cookie round trip proves the source address) unless its
 * source is light: below its max-min fair share of the threshold among all
 * sources seen in the last second or two, and the device's direct budget
 * (the threshold, per second) still has room. So a flood from a few sources
 * makes only those sources pay the cookie round trip, and a flood from many
 * (spoofed) sources leaves every share at one message a second or less, or
 * the source table full: then everyone pays.
 *
 * Cookie replies to one source are limited as its MAC2 messages are (the
 * token bucket of its entry among the talkers: 20/s, burst 5): more could
 * not get more of its handshakes through, and each costs an encryption and
 * a send, reflected at an address that may be spoofed. Under a one-source
 * flood that is what keeps the responder ahead of its socket queue, so the
 * initiation of a legitimate peer elsewhere is read at all.
 *
 * The tracked sources also share a budget of COOKIE_REPLIES_PER_SECOND:
 * with N of them and N * 20 over the budget, one source gets a reply at
 * most every N / budget seconds (a source never answered before gets one
 * at once). Without it, 1000 spoofed sources at 20/s each cost 20,000
 * replies a second, each about five times a received message; the
 * responder then read slower than the flood came and the kernel dropped
 * datagrams from everyone, the legitimate peer's too (docs/security.md,
 * "DoS"). A legitimate peer sends one initiation per REKEY_TIMEOUT and its
 * entry is collected in between, so it still gets its cookie at once.
 *
 * A message without MAC2 from a source already over its share and not due
 * a cookie reply is refused whatever its MAC1 says, so under load it is
 * refused before the MAC1 is computed (device_source_held): most of a
 * many-source flood then costs a table lookup, not a BLAKE2s too (a
 * quarter of the responder's time before). It is counted in its source's
 * rate all the same, unverified: a sender without our public key can keep
 * a source it spoofs over its share, which only makes that source pay the
 * cookie round trip, as every source does under a many-source flood.
 */
#include "device_internal.h"
#include "ratelimiter.h"

/* How long a computed fair share is used before it is computed again. */
#define FAIR_SHARE_INTERVAL_NS (NS_PER_SEC / 10)
/* The direct budget holds this long a time's worth of the threshold. */
#define DIRECT_BURST_NS (NS_PER_SEC / 10)

uint64_t device_cookie_gap(size_t sources)
{
	/* Few sources: their buckets alone keep within the budget. */
	if (sources * RATELIMIT_PER_SECOND <= COOKIE_REPLIES_PER_SECOND)
		return 0;
	return sources * NS_PER_SEC / COOKIE_REPLIES_PER_SECOND;
}

bool device_under_load(altuntun_device *dev, uint64_t now_ns)
{
	uint64_t elapsed = now_ns - dev->load_window_start_ns;
	uint64_t estimate;

	if (elapsed >= NS_PER_SEC) {
		dev->load_count_previous = elapsed < 2 * NS_PER_SEC ? dev->load_count_current : 0;
		dev->load_count_current = 0;
		dev->load_window_start_ns = now_ns;
		elapsed = 0;
	}
	dev->load_count_current++;
	/* The previous second weighs as much as it still overlaps the last one. */
	estimate = dev->load_count_current +
		   dev->load_count_previous * (NS_PER_SEC - elapsed) / NS_PER_SEC;
	if (dev->load_threshold == 0 || estimate > dev->load_threshold) {
		dev->last_under_load_ns = now_ns;
		dev->was_under_load = true;
		return true;
	}
	return dev->was_under_load && now_ns - dev->last_under_load_ns < UNDER_LOAD_AFTER_TIME;
}

bool device_source_is_light(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src,
			    bool under_load, bool *tracked_out)
{
	uint32_t rate;
	bool tracked = ratelimiter_count(dev->talkers, now_ns, src, &rate);

	*tracked_out = tracked;
	if (!under_load) {
		dev->has_fair_share = false;
		return true;
	}
	if (!dev->has_fair_share || now_ns - dev->fair_share_ns >= FAIR_SHARE_INTERVAL_NS) {
		dev->fair_share = ratelimiter_fair_share(dev->talkers, now_ns, dev->load_threshold);
		dev->cookie_gap_ns = device_cookie_gap(ratelimiter_entries(dev->talkers));
		dev->fair_share_ns = now_ns;
		dev->has_fair_share = true;
	}
	/* An untracked source (the table is full) is one of very many. */
	return tracked && rate < dev->fair_share;
}

bool device_source_held(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src)
{
	/* The share must be current: the full path computes it again. */
	if (!dev->has_fair_share || now_ns - dev->fair_share_ns >= FAIR_SHARE_INTERVAL_NS)
		return false;
	return ratelimiter_count_if_held(dev->talkers, now_ns, src, dev->fair_share,
					 dev->cookie_gap_ns);
}

bool device_cookie_reply_allowed(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src,
				 bool tracked)
{
	/* Untracked: one of very many sources, each sending little. */
	return !tracked || ratelimiter_allow_spaced(dev->talkers, now_ns, src, dev->cookie_gap_ns);
}

/* Token bucket in nanoseconds of credit, as the rate limiter's. */
static uint64_t direct_cost_ns(const altuntun_device *dev)
{
	uint64_t cost = NS_PER_SEC / dev->load_threshold;

	return cost ? cost : 1;
}

static uint64_t direct_tokens(altuntun_device *dev, uint64_t now_ns)
{
	uint64_t cost = direct_cost_ns(dev);
	uint64_t max = DIRECT_BURST_NS > cost ? DIRECT_BURST_NS : cost;
	uint64_t elapsed;

	if (!dev->direct_started) {
		dev->direct_started = true;
		dev->direct_tokens_ns = max;
		dev->direct_last_ns = now_ns;
	}
	elapsed = now_ns > dev->direct_last_ns ? now_ns - dev->direct_last_ns : 0;
	if (elapsed > max)
		elapsed = max;
	dev->direct_tokens_ns += elapsed;
	if (dev->direct_tokens_ns > max)
		dev->direct_tokens_ns = max;
	if (now_ns > dev->direct_last_ns)
		dev->direct_last_ns = now_ns;
	return dev->direct_tokens_ns;
}

bool device_direct_budget_left(altuntun_device *dev, uint64_t now_ns)
{
	if (dev->load_threshold == 0)
		return false;
	return direct_tokens(dev, now_ns) >= direct_cost_ns(dev);
}

void device_direct_budget_take(altuntun_device *dev, uint64_t now_ns)
{
	if (device_direct_budget_left(dev, now_ns))
		dev->direct_tokens_ns -= direct_cost_ns(dev);
}
