package sentinel_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/registry"
)

// The credentials of the test topologies: the data nodes (master and
// replicas) require dataPassword; every sentinel has the ACL user
// sentinelUser, whose password differs, so that a credential sent to the
// wrong kind of node fails.
const (
	dataPassword     = "data-P@ss:w/rd"
	sentinelUser     = "alertstore-sentinel"
	sentinelPassword = "sentinel-S3cret"
)

// sentinelACL is the least the sentinel user needs, for both client
// libraries and the master check (docs/dsn.md lists it).
var sentinelACL = []string{
	"on", ">" + sentinelPassword, "allchannels",
	"+ping", "+hello", "+auth", "+client|setname", "+client|setinfo",
	"+sentinel|get-master-addr-by-name", "+sentinel|sentinels", "+sentinel|replicas",
	"+subscribe", "+unsubscribe", "+psubscribe", "+punsubscribe",
}

// target is one scheme on one server of the matrix.
type target struct {
	scheme string
	server string
}

// targets are the scheme/server pairs the tests run: each scheme on the
// server its library is usually paired with, and go-redis on Redis 7 too.
var targets = []target{
	{goredis.SchemeSentinel, containers.NameRedis8},
	{valkeygo.SchemeSentinel, containers.NameValkey},
	{goredis.SchemeSentinel, containers.NameRedis7},
}

func (tg target) String() string { return tg.scheme + "@" + tg.server }

// selected returns the targets whose server ALERTSTORE_SERVERS selects
// (all three by default). faultTargets are the first two: the fault tests
// cost minutes, and the two libraries are what they test.
func selected(t *testing.T, all []target) []target {
	var out []target
	for _, tg := range all {
		for _, spec := range containers.Matrix() {
			if spec.Name == tg.server {
				out = append(out, tg)
			}
		}
	}
	if len(out) == 0 {
		t.Skip("no server of the sentinel targets is selected by " + containers.EnvServers)
	}
	return out
}

var faultTargets = targets[:2]

// topology is a Sentinel topology shared by a test binary, one per
// server: starting one costs seconds to tens of seconds on a busy
// machine. Only the fault tests break it; they run after the others (top-
// level tests run one after another) and leave it ready (WaitReady).
type topology struct {
	*containers.Topology
}

// downAfter is the sentinels' down-after-milliseconds. At 1s (the
// helper's default) a master that answers one PING a second late is taken
// for dead: on two cores busy with a resync, container starts and the
// race detector that happened a few times per dozen faults, and the
// unplanned second failover promoted a replica still loading its first
// sync (the loss then showed in the figures of min_replicas=0, never of
// min_replicas=1). 2s still completes the failover well within the 5s
// pause of the pause test (about 3.5s), so that the frozen master comes
// back after it, as the test means; at 3s it came back mid-failover.
const downAfter = 2 * time.Second

// sharedTopo returns the topology of server, shared by the test binary
// and started on first use (containers.Shared): it skips without Docker or
// the image, or fails under ALERTSTORE_REQUIRE_DOCKER=1.
func sharedTopo(t testing.TB, server string) *topology {
	t.Helper()
	spec, ok := containers.Lookup(server)
	if !ok {
		t.Fatalf("no matrix entry %s", server)
	}
	return containers.Shared(t, "sentinel-topology\x00"+server, func(ctx context.Context) (*topology, error) {
		begin := time.Now()
		tp, err := containers.StartTopology(ctx, spec,
			containers.WithServerOptions(containers.WithPassword(dataPassword)),
			containers.WithDownAfter(downAfter))
		if err != nil {
			return nil, err
		}
		top := &topology{Topology: tp}
		if err := top.addSentinelUser(ctx); err != nil {
			_ = tp.Terminate(context.WithoutCancel(ctx))
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "sentinel tests: topology %s ready in %s\n", server, time.Since(begin).Round(100*time.Millisecond))
		return top, nil
	})
}

// addSentinelUser creates the sentinel ACL user on every sentinel that
// answers (again after a sentinel restart: a killed sentinel may not have
// written it to its config file).
func (tp *topology) addSentinelUser(ctx context.Context) error {
	for _, s := range tp.Sentinels() {
		args := append([]string{"ACL", "SETUSER", sentinelUser, "reset"}, sentinelACL...)
		_, err := s.Do(ctx, args...)
		if err != nil && strings.Contains(err.Error(), "client|setinfo") {
			// Before 7.2 there is no CLIENT SETINFO (and the clients
			// ignore its failure).
			args = slices.DeleteFunc(args, func(a string) bool { return a == "+client|setinfo" })
			_, err = s.Do(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("sentinel %s: ACL SETUSER: %w", s.Addr(), err)
		}
	}
	return nil
}

// TestMain removes the shared topologies after the last test.
func TestMain(m *testing.M) { containers.Main(m) }

// dsn is the DSN of scheme on tp: data password in the user info, the
// first sentinel as host and the others as addr=, the sentinel user, cfg's
// shared parameters, and extra ("k=v&k2=v2").
func (tp *topology) dsn(scheme string, cfg backend.Config, extra string) string {
	addrs := tp.SentinelAddrs()
	q := registry.ConfigParams(cfg)
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	q.Set("sentinel_username", sentinelUser)
	q.Set("sentinel_password", sentinelPassword)
	u := url.URL{
		Scheme:   scheme,
		User:     url.UserPassword("", dataPassword),
		Host:     addrs[0],
		Path:     "/" + tp.MasterName() + "/0",
		RawQuery: q.Encode(),
	}
	s := u.String()
	if extra != "" {
		s += "&" + extra
	}
	return s
}

// harness opens drivers of scheme on tp for the conformance suite.
type harness struct {
	scheme string
	tp     *topology
}

func (h *harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	return registry.OpenDriver(ctx, h.tp.dsn(h.scheme, cfg, ""))
}

func (h *harness) Close() {}

var _ conformance.Harness = (*harness)(nil)

// prefix and openStore are redistest's: the same fresh prefixes and
// self-closing stores the other Redis backends' tests use.
var (
	prefix    = redistest.Prefix
	openStore = redistest.Open
)

func newAlert(t testing.TB, entity string) *backend.Alert {
	t.Helper()
	a := backend.NewAlert()
	if err := a.SetEntity(entity); err != nil {
		t.Fatal(err)
	}
	return a
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// listIDs reads the alert list of prefix straight from the master with
// LRANGE (not through the code under test) and counts each id.
func (tp *topology) listIDs(ctx context.Context, prefix string) (map[string]int, error) {
	addr, err := tp.CurrentMaster(ctx)
	if err != nil {
		return nil, err
	}
	node := tp.Node(addr)
	if node == nil {
		return nil, fmt.Errorf("master %s is no node of the topology", addr)
	}
	v, err := node.Do(ctx, "LRANGE", prefix+"alerts", "0", "-1")
	if err != nil {
		return nil, err
	}
	items, _ := v.([]any)
	ids := map[string]int{}
	for _, it := range items {
		s, _ := it.(string)
		a, err := backend.ParseAlert([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("stored entry %.60q: %v", s, err)
		}
		ids[a.ID()]++
	}
	return ids, nil
}

// sentinelsWithClient returns the sentinels on which a connection named
// ClientName (the same for both backends) is subscribed: the ones the client libraries listen to for
// +switch-master.
func (tp *topology) sentinelsWithClient(ctx context.Context) []*containers.Server {
	var out []*containers.Server
	for _, s := range tp.Sentinels() {
		v, err := s.Do(ctx, "CLIENT", "LIST")
		if err != nil {
			continue
		}
		list, _ := v.(string)
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " name="+goredis.ClientName+" ") && !strings.Contains(line, " sub=0 ") && strings.Contains(line, " sub=") {
				out = append(out, s)
				break
			}
		}
	}
	return slices.Clip(out)
}
