// SPDX-License-Identifier: BSD-3-Clause

// cni-driver calls CNI plugins through libcni (Debian's
// golang-github-appc-cni-dev) the way containerd (go-cni) and CRI-O
// (ocicni) do: it loads a conflist by network name from a config directory
// and runs AddNetworkList, CheckNetworkList or DelNetworkList with a runtime
// configuration, libcni's result cache and CNI_ARGS as a Kubernetes runtime
// sets them. A test tool for tests/netns/cni_libcni.sh.
//
//	cni-driver -confdir D -name NET -path BIN[:BIN] -cache D \
//	           -id ID -netns PATH -ifname eth0 add|check|del|cached|validate
//
// add and cached print the result as libcni decoded it (JSON); a plugin's
// error is printed as {"code":..,"msg":..,"details":..} on stdout, with the
// exit status 1 (2 for a usage error).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	confDir := flag.String("confdir", "", "directory of *.conflist files")
	name := flag.String("name", "", "network name (a conflist's \"name\")")
	path := flag.String("path", "", "plugin directories, ':'-separated")
	cache := flag.String("cache", "", "libcni's result cache directory")
	id := flag.String("id", "", "container id")
	netns := flag.String("netns", "", "network namespace path")
	ifname := flag.String("ifname", "eth0", "CNI_IFNAME")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline of the operation")
	flag.Parse()
	if flag.NArg() != 1 || *confDir == "" || *name == "" || *path == "" || *cache == "" {
		fmt.Fprintln(os.Stderr, "usage: cni-driver -confdir D -name NET -path BIN -cache D -id ID -netns PATH [-ifname eth0] add|check|del|cached|validate")
		os.Exit(2)
	}

	list, err := libcni.LoadConfList(*confDir, *name)
	if err != nil {
		fail(fmt.Errorf("loading network %q from %s: %w", *name, *confDir, err))
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*path, ":"), *cache, nil)
	rt := &libcni.RuntimeConf{
		ContainerID: *id,
		NetNS:       *netns,
		IfName:      *ifname,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", "default"},
			{"K8S_POD_NAME", "app-" + *id},
			{"K8S_POD_INFRA_CONTAINER_ID", *id},
		},
		CacheDir: *cache,
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch flag.Arg(0) {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		printResult(res)
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "cached":
		res, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			fail(err)
		}
		if res == nil {
			fmt.Println("null")
			return
		}
		printResult(res)
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(map[string]interface{}{"capabilities": caps})
		fmt.Println(string(out))
	default:
		fmt.Fprintf(os.Stderr, "cni-driver: unknown operation %q\n", flag.Arg(0))
		os.Exit(2)
	}
}

func printResult(res types.Result) {
	if err := res.PrintTo(os.Stdout); err != nil {
		fail(fmt.Errorf("printing the result: %w", err))
	}
}

// fail prints a plugin's error object (code, msg, details) when libcni
// returned one, else {"code": 0, "msg": the error}, and exits 1.
func fail(err error) {
	var e *types.Error
	obj := map[string]interface{}{"code": 0, "msg": err.Error()}
	if errors.As(err, &e) {
		obj = map[string]interface{}{"code": e.Code, "msg": e.Msg, "details": e.Details,
			"error": err.Error()}
	}
	out, _ := json.Marshal(obj)
	fmt.Println(string(out))
	os.Exit(1)
}
