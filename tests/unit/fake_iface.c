// SPDX-License-Identifier: BSD-3-Clause
/* See fake_iface.h. */
#include "fake_iface.h"

static uint16_t fake_get_port(void *ctx)
{
	return ((struct fake_iface *)ctx)->port;
}

static int fake_set_port(void *ctx, uint16_t port)
{
	struct fake_iface *f = ctx;

	if (f->port_calls < 4)
		f->ports_set[f->port_calls] = port;
	f->port_calls++;
	if (f->port_ret < 0 && port != f->port)
		return f->port_ret;
	f->port = port;
	return 0;
}

static uint32_t fake_get_fwmark(void *ctx)
{
	return ((struct fake_iface *)ctx)->fwmark;
}

static int fake_set_fwmark(void *ctx, uint32_t mark)
{
	struct fake_iface *f = ctx;

	f->fwmark_calls++;
	if (f->fwmark_ret < 0)
		return f->fwmark_ret;
	f->fwmark = mark;
	return 0;
}

static void fake_changed(void *ctx)
{
	((struct fake_iface *)ctx)->changed_calls++;
}

struct uapi_iface_ops fake_iface_ops(struct fake_iface *f)
{
	return (struct uapi_iface_ops){
		.ctx = f,
		.get_listen_port = fake_get_port,
		.set_listen_port = fake_set_port,
		.get_fwmark = fake_get_fwmark,
		.set_fwmark = fake_set_fwmark,
		.changed = fake_changed,
	};
}
