/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One request to the kernel over a short-lived rtnetlink socket of the
 * calling thread's namespace, made and closed inside the call (so it pins
 * nothing), or over one the caller keeps.
 */
#ifndef ALTUNTUN_RTNL_H
#define ALTUNTUN_RTNL_H

#include <linux/netlink.h>

/* Takes one reply message; a negative return is kept as the result (later
 * replies are still read, not handed over). */
typedef int (*rtnl_reply_fn)(const struct nlmsghdr *nh, void *ctx);

/*
 * Sends `req` (NLM_F_REQUEST and NLM_F_ACK are added; a dump with
 * NLM_F_DUMP) and hands every reply message to fn (may be NULL) until the
 * kernel's acknowledgement or NLMSG_DONE. Returns the acknowledged status
 * (0 or a negative errno), or what fn returned if that was negative.
 */
int rtnl_talk(struct nlmsghdr *req, rtnl_reply_fn fn, void *ctx);

/* The same on an rtnetlink socket the caller keeps (for frequent
 * requests); req->nlmsg_seq is the caller's, and replies with another
 * sequence number are skipped. */
int rtnl_talk_on(int fd, struct nlmsghdr *req, rtnl_reply_fn fn, void *ctx);

#endif
