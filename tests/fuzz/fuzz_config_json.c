// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_config_json: the input as the contents of a JSON configuration file
 * (altuntun-cli --config), parsed by config_parse() as a daemon's file and
 * as a CNI network configuration; key file names are relative to a
 * directory of example key files (fuzz_offline.h). Checked: the result is
 * 0, -EINVAL or -ENOMEM; an error is one line naming the file; the values
 * of an accepted file are in range; what a daemon's file may say, a CNI
 * configuration may say too; an accepted file applies to a fresh device,
 * which then has every peer the file names and its listen port and fwmark.
 */
#include <errno.h>
#include <string.h>

#include "config_json.h"
#include "fake_iface.h"
#include "fuzz_common.h"
#include "fuzz_offline.h"

#define NAME "fuzz.json"
#define CONFIG_SEED 0xc0f1650aULL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *key_dir;

static int drop_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to;
	FUZZ_CHECK(len >= 4 && data[0] >= 1 && data[0] <= 4);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init();
	key_dir = fuzz_offline_init();
	return 0;
}

static void check_prefix(const struct config_prefix *p)
{
	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->cidr <= (p->family == AF_INET ? 32 : 128));
}

static void check_accepted(const struct config *cfg, enum config_mode mode)
{
	const struct config_iface *f = &cfg->iface;

	if (f->flags & CONFIG_IFACE_HAS_MTU)
		FUZZ_CHECK(f->mtu >= CONFIG_MTU_MIN && f->mtu <= CONFIG_MTU_MAX);
	FUZZ_CHECK(!!(f->flags & CONFIG_IFACE_HAS_NETNS) == !!f->netns);
	FUZZ_CHECK(!f->netns || f->netns_where);
	for (size_t i = 0; i < f->n_addresses; i++)
		check_prefix(&f->addresses[i]);
	for (size_t i = 0; i < f->n_routes; i++)
		check_prefix(&f->routes[i].dst);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		FUZZ_CHECK(cfg->warnings[i][0] && !strchr(cfg->warnings[i], '\n'));
	if (mode == CONFIG_MODE_AGENT)
		FUZZ_CHECK(!cfg->cni.cni_version && !cfg->cni.name && !cfg->cni.type &&
			   !cfg->cni.prev_result && !cfg->cni.ipam && !cfg->cni.dns &&
			   !cfg->cni.args && !cfg->cni.runtime_config && !cfg->cni.capabilities);
	for (size_t i = 0; i < cfg->set.n_peers; i++) {
		const struct uapi_peer_change *pc = &cfg->set.peers[i];

		for (size_t k = 0; k < pc->n_prefixes; k++)
			FUZZ_CHECK(pc->prefixes[k].cidr <=
				   (pc->prefixes[k].family == AF_INET ? 32 : 128));
	}
}

/* An accepted configuration applied to a fresh device. */
static void check_applies(const struct config *cfg)
{
	static const struct altuntun_callbacks cb = { .send = drop_send };
	struct fake_iface iface = { 0 };
	struct uapi_iface_ops ops = fake_iface_ops(&iface);
	struct altuntun_now now = { FUZZ_START_MONO, FUZZ_START_WALL };
	struct fuzz_rng rng;
	altuntun_device *dev;
	int r;

	fuzz_rng_seed(&rng, CONFIG_SEED);
	fuzz_rng_use(&rng);
	dev = altuntun_device_new(&cb);
	FUZZ_CHECK(dev);
	r = config_apply(cfg, dev, &ops, now);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	if (r == 0) {
		if (cfg->set.flags & UAPI_DEV_HAS_LISTEN_PORT)
			FUZZ_CHECK(iface.port == cfg->iface.listen_port);
		if (cfg->set.flags & UAPI_DEV_HAS_FWMARK)
			FUZZ_CHECK(iface.fwmark == cfg->iface.fwmark);
		for (size_t i = 0; i < cfg->set.n_peers; i++)
			FUZZ_CHECK(altuntun_peer_lookup(dev, cfg->set.peers[i].public_key));
	}
	altuntun_device_free(dev);
	fuzz_rng_use(NULL);
}

static int parse_as(const uint8_t *data, size_t size, enum config_mode mode)
{
	struct config cfg;
	char err[1024];
	int r;

	r = config_parse(&cfg, (const char *)data, size, NAME, key_dir, mode, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r) {
		FUZZ_CHECK(!strncmp(err, NAME, strlen(NAME)) && !strchr(err, '\n'));
		config_free(&cfg);
		return r;
	}
	check_accepted(&cfg, mode);
	check_applies(&cfg);
	config_free(&cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int agent = parse_as(data, size, CONFIG_MODE_AGENT);
	int cni = parse_as(data, size, CONFIG_MODE_CNI);

	FUZZ_CHECK(agent != 0 || cni == 0 || cni == -ENOMEM);
	return 0;
}
