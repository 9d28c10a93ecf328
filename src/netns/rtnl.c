// SPDX-License-Identifier: BSD-3-Clause
/* One rtnetlink request and its replies (see rtnl.h). */
#include <errno.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"

#define REPLY_BUF 32768

int rtnl_talk(struct nlmsghdr *req, rtnl_reply_fn fn, void *ctx)
{
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	req->nlmsg_seq = 1;
	r = rtnl_talk_on(fd, req, fn, ctx);
	close(fd);
	return r;
}

int rtnl_talk_on(int fd, struct nlmsghdr *req, rtnl_reply_fn fn, void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nh;
		char buf[REPLY_BUF];
	} u;
	int r = -EIO, fn_r = 0;
	uint32_t seq = req->nlmsg_seq;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, u.buf, sizeof(u.buf), 0);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		len = (int)n;
		for (struct nlmsghdr *nh = &u.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					r = -EIO;
				else
					r = e->error;
				goto out;
			}
			if (nh->nlmsg_type == NLMSG_DONE) {
				r = 0;
				goto out;
			}
			if (fn && fn_r >= 0)
				fn_r = fn(nh, ctx);
		}
	}
out:
	if (r == 0 && fn_r < 0)
		r = fn_r;
	return r;
}
