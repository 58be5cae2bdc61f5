package containers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/internal/hashslot"
)

// ClusterOption configures a cluster started by [LaunchCluster] or
// [StartCluster].
type ClusterOption func(*clusterConfig)

type clusterConfig struct {
	masters      int
	replicas     int // per master
	nodeTimeout  time.Duration
	readyTimeout time.Duration
	serverOpts   []Option
}

func newClusterConfig(opts []ClusterOption) (clusterConfig, error) {
	cfg := clusterConfig{
		masters:      3,
		replicas:     1,
		nodeTimeout:  2 * time.Second,
		readyTimeout: 2 * time.Minute,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.masters < 3:
		return cfg, fmt.Errorf("containers: a cluster needs at least 3 masters (redis-cli --cluster create refuses fewer), not %d", cfg.masters)
	case cfg.replicas < 0:
		return cfg, fmt.Errorf("containers: %d replicas per master", cfg.replicas)
	case cfg.nodeTimeout < 100*time.Millisecond:
		return cfg, fmt.Errorf("containers: cluster-node-timeout %s is too short", cfg.nodeTimeout)
	}
	return cfg, nil
}

// WithClusterMasters sets the number of masters (default 3, the least a
// cluster can have).
func WithClusterMasters(n int) ClusterOption { return func(c *clusterConfig) { c.masters = n } }

// WithClusterReplicas sets the number of replicas of each master
// (default 1).
func WithClusterReplicas(n int) ClusterOption { return func(c *clusterConfig) { c.replicas = n } }

// WithNodeTimeout sets cluster-node-timeout (default 2s rather than the
// server's 15s, so that a fault test sees a failover within seconds; not
// much shorter, so that two loaded cores do not cause failovers nobody
// asked for).
func WithNodeTimeout(d time.Duration) ClusterOption {
	return func(c *clusterConfig) { c.nodeTimeout = d }
}

// WithClusterReadyTimeout bounds the readiness gate run before the cluster
// is returned (default 2 minutes: six containers on two cores).
func WithClusterReadyTimeout(d time.Duration) ClusterOption {
	return func(c *clusterConfig) { c.readyTimeout = d }
}

// WithClusterServerOptions applies server options to every node, e.g.
// [WithAOF] or [WithPassword] (which also becomes masterauth, so that
// replicas authenticate to their masters).
func WithClusterServerOptions(opts ...Option) ClusterOption {
	return func(c *clusterConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// Cluster is a Redis Cluster (or Valkey Cluster): masters that split the
// 16384 hash slots between them, each with its replicas, every node in its
// own container on its own 127.0.0.1 port (its cluster bus on another
// port, --cluster-port, so that no port+10000 needs to be free).
//
// Which node is master of which slots changes with failovers and
// migrations; the methods that answer such questions ([Cluster.MasterOf],
// [Cluster.Masters]) ask the cluster each time.
type Cluster struct {
	spec  ServerSpec
	cfg   clusterConfig
	nodes []*Server

	mu  sync.Mutex
	ids map[*Server]string // node ids, as CLUSTER MYID says
}

// LaunchCluster starts the nodes of a cluster from spec's image, creates
// the cluster with the image's CLI (redis-cli or valkey-cli --cluster
// create, the tool operators use), then runs [Cluster.WaitReady] before
// returning. The caller must Terminate it. Tests should use
// [StartCluster], or [Shared] to share one cluster per test binary.
//
// Errors wrap [ErrDockerUnavailable] or [ErrImageNotFound] as for [Start].
func LaunchCluster(ctx context.Context, spec ServerSpec, opts ...ClusterOption) (*Cluster, error) {
	cfg, err := newClusterConfig(opts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{spec: spec, cfg: cfg, ids: map[*Server]string{}}
	if err := c.start(ctx); err != nil {
		_ = c.Terminate(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// StartCluster is [LaunchCluster] for tests: it skips or fails the test as
// [StartServer] does, and terminates every container in t.Cleanup.
func StartCluster(ctx context.Context, t testing.TB, spec ServerSpec, opts ...ClusterOption) *Cluster {
	t.Helper()
	SkipShort(t)
	opts = append([]ClusterOption{WithClusterServerOptions(WithLogf(t.Logf))}, opts...)
	c, err := LaunchCluster(ctx, spec, opts...)
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Terminate(ctx); err != nil {
			t.Errorf("containers: terminate cluster: %v", err)
		}
	})
	return c
}

// SharedCluster is [Shared] for one cluster of spec, started with opts:
// the first test of the binary that asks starts it, [Main] terminates it.
// Tests must then isolate themselves by key prefix, and must not cause
// faults on it.
func SharedCluster(t testing.TB, spec ServerSpec, opts ...ClusterOption) *Cluster {
	t.Helper()
	return Shared(t, "cluster\x00"+spec.Name+"\x00"+spec.Image, func(ctx context.Context) (*Cluster, error) {
		return LaunchCluster(ctx, spec, opts...)
	})
}

func (c *Cluster) start(ctx context.Context) error {
	base := newServerConfig(c.cfg.serverOpts)
	n := c.cfg.masters * (1 + c.cfg.replicas)
	nodes, err := startAll(ctx, n, func(ctx context.Context) (*Server, error) {
		busPort, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg := base
		// Before the caller's args, so that they can override.
		cfg.args = append([]string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(busPort),
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(c.cfg.nodeTimeout.Milliseconds(), 10),
			"--cluster-announce-ip", "127.0.0.1",
			// A replica may take over whatever the age of its data: a
			// test kills a master right after writing to it.
			"--cluster-replica-validity-factor", "0",
			// Keep the shape the test built: no replica wanders off to
			// an orphaned master.
			"--cluster-allow-replica-migration", "no",
			"--repl-diskless-sync-delay", "0",
			"--dir", "/data",
		}, base.args...)
		return start(ctx, c.spec, cfg, false)
	})
	// Sorted by port: the same order from run to run, whatever order the
	// containers came up in.
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Port() < nodes[j].Port() })
	c.nodes = nodes
	if err != nil {
		return fmt.Errorf("containers: cluster node: %w", err)
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.nodes {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(c.cfg.replicas), "--cluster-yes")
	cctx, cancel := context.WithTimeout(ctx, c.cfg.readyTimeout)
	defer cancel()
	out, err := c.nodes[0].CLI(cctx, args...)
	if err != nil || !strings.Contains(out, "[OK] All 16384 slots covered") {
		return fmt.Errorf("containers: cluster create on %s: %v: %s", c.spec.Name, err, out)
	}
	for _, s := range c.nodes {
		v, err := s.Do(cctx, "CLUSTER", "MYID")
		if err != nil {
			return fmt.Errorf("containers: CLUSTER MYID %s: %w", s, err)
		}
		c.ids[s], _ = v.(string)
	}
	return c.WaitReady(cctx)
}

// Spec is the matrix entry the cluster runs.
func (c *Cluster) Spec() ServerSpec { return c.spec }

// Nodes are all nodes, masters and replicas, ordered by port.
func (c *Cluster) Nodes() []*Server { return slices.Clone(c.nodes) }

// Node returns the node listening on addr, or nil.
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// Addrs are every node's address, what a cluster client is seeded with.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		out[i] = s.Addr()
	}
	return out
}

// ID is the node id of s.
func (c *Cluster) ID(s *Server) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[s]
}

// Terminate removes every container of the cluster.
func (c *Cluster) Terminate(ctx context.Context) error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, s := range c.nodes {
		wg.Go(func() { errs[i] = s.Terminate(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ClusterNode is one line of CLUSTER NODES as a node sees it.
type ClusterNode struct {
	ID       string
	Addr     string // host:port, without the bus port
	Flags    []string
	MasterID string // "" for a master
	Slots    [][2]int
	// Migrating and Importing are the slots in transition, as the
	// "[slot->-id]" and "[slot-<-id]" entries say.
	Migrating, Importing []int
}

// Master reports whether the node is flagged master.
func (n ClusterNode) Master() bool { return slices.Contains(n.Flags, "master") }

// Failing reports whether the node is flagged fail or pfail (suspected).
func (n ClusterNode) Failing() bool {
	return slices.Contains(n.Flags, "fail") || slices.Contains(n.Flags, "fail?")
}

// View asks s for its CLUSTER NODES.
func (c *Cluster) View(ctx context.Context, s *Server) ([]ClusterNode, error) {
	v, err := s.Do(ctx, "CLUSTER", "NODES")
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER NODES: %w", s.Addr(), err)
	}
	text, _ := v.(string)
	return parseClusterNodes(text)
}

// parseClusterNodes reads CLUSTER NODES:
//
//	<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
func parseClusterNodes(text string) ([]ClusterNode, error) {
	var out []ClusterNode
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q", line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		n := ClusterNode{ID: f[0], Addr: addr, Flags: strings.Split(f[2], ",")}
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				inner := strings.Trim(s, "[]")
				if a, _, ok := strings.Cut(inner, "->-"); ok {
					if slot, err := strconv.Atoi(a); err == nil {
						n.Migrating = append(n.Migrating, slot)
					}
				} else if a, _, ok := strings.Cut(inner, "-<-"); ok {
					if slot, err := strconv.Atoi(a); err == nil {
						n.Importing = append(n.Importing, slot)
					}
				}
				continue
			}
			lo, hi, rng := strings.Cut(s, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				return nil, fmt.Errorf("CLUSTER NODES slot %q", s)
			}
			b := a
			if rng {
				if b, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("CLUSTER NODES slot %q", s)
				}
			}
			n.Slots = append(n.Slots, [2]int{a, b})
		}
		out = append(out, n)
	}
	return out, nil
}

// MasterOf asks the cluster (the first node that answers) which node is
// master of slot.
func (c *Cluster) MasterOf(ctx context.Context, slot int) (*Server, error) {
	var errs []error
	for _, s := range c.nodes {
		qctx, cancel := context.WithTimeout(ctx, sentinelCallTimeout)
		view, err := c.View(qctx, s)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range view {
			if !n.Master() || n.Failing() {
				continue
			}
			for _, r := range n.Slots {
				if slot >= r[0] && slot <= r[1] {
					if m := c.Node(n.Addr); m != nil {
						return m, nil
					}
					return nil, fmt.Errorf("containers: slot %d is served by %s, no node of this cluster", slot, n.Addr)
				}
			}
		}
		errs = append(errs, fmt.Errorf("%s: no healthy master serves slot %d", s.Addr(), slot))
	}
	return nil, fmt.Errorf("containers: master of slot %d: %w", slot, errors.Join(errs...))
}

// MasterOfKey is [Cluster.MasterOf] the slot of key.
func (c *Cluster) MasterOfKey(ctx context.Context, key string) (*Server, error) {
	return c.MasterOf(ctx, hashslot.Of(key))
}

// Masters asks the cluster for its healthy masters that serve slots, in
// port order.
func (c *Cluster) Masters(ctx context.Context) ([]*Server, error) {
	var errs []error
	for _, s := range c.nodes {
		qctx, cancel := context.WithTimeout(ctx, sentinelCallTimeout)
		view, err := c.View(qctx, s)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var out []*Server
		for _, n := range view {
			if n.Master() && !n.Failing() && len(n.Slots) > 0 {
				if m := c.Node(n.Addr); m != nil {
					out = append(out, m)
				}
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Port() < out[j].Port() })
		return out, nil
	}
	return nil, fmt.Errorf("containers: cluster masters: %w", errors.Join(errs...))
}

// ReplicasOf asks master for the nodes that replicate it.
func (c *Cluster) ReplicasOf(ctx context.Context, master *Server) ([]*Server, error) {
	view, err := c.View(ctx, master)
	if err != nil {
		return nil, err
	}
	id := c.ID(master)
	var out []*Server
	for _, n := range view {
		if n.MasterID == id {
			if r := c.Node(n.Addr); r != nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// MigrateSlot moves slot, with every key in it, from its master to the
// master to, the way redis-cli --cluster reshard does it: SETSLOT
// IMPORTING on the target, SETSLOT MIGRATING on the source, MIGRATE the
// keys one at a time, then SETSLOT NODE on both and on every other master.
// While it runs, clients see ASK for the keys already moved, TRYAGAIN for
// a command (or transaction) whose keys are split between the two, and
// MOVED once it is done. pause, if positive, is slept between the
// migrating state and the first MIGRATE, and between keys, to hold the
// slot in transition long enough for a test's clients to see it.
func (c *Cluster) MigrateSlot(ctx context.Context, slot int, to *Server, pause time.Duration) error {
	from, err := c.MasterOf(ctx, slot)
	if err != nil {
		return err
	}
	if from == to {
		return fmt.Errorf("containers: slot %d is already on %s", slot, to)
	}
	s := strconv.Itoa(slot)
	fromID, toID := c.ID(from), c.ID(to)
	steps := []struct {
		on   *Server
		args []string
	}{
		{to, []string{"CLUSTER", "SETSLOT", s, "IMPORTING", fromID}},
		{from, []string{"CLUSTER", "SETSLOT", s, "MIGRATING", toID}},
	}
	for _, st := range steps {
		if err := okReply(st.on.Do(ctx, st.args...)); err != nil {
			return fmt.Errorf("containers: %s on %s: %w", strings.Join(st.args, " "), st.on, err)
		}
	}
	for {
		if err := sleepCtx(ctx, pause); err != nil {
			return err
		}
		v, err := from.Do(ctx, "CLUSTER", "GETKEYSINSLOT", s, "1")
		if err != nil {
			return fmt.Errorf("containers: GETKEYSINSLOT %d on %s: %w", slot, from, err)
		}
		keys, _ := v.([]any)
		if len(keys) == 0 {
			break
		}
		args := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(to.Port()), "", "0", "10000"}
		if pw := from.Password(); pw != "" {
			args = append(args, "AUTH", pw)
		}
		args = append(args, "KEYS")
		for _, k := range keys {
			ks, _ := k.(string)
			args = append(args, ks)
		}
		if v, err := from.Do(ctx, args...); err != nil || (v != "OK" && v != "NOKEY") {
			return fmt.Errorf("containers: MIGRATE %q (slot %d) from %s to %s: %v %v", args[len(args)-1], slot, from, to, v, err)
		}
	}
	// The target first, so that it serves the slot before the source
	// redirects there (the order redis-cli uses).
	others, err := c.Masters(ctx)
	if err != nil {
		return err
	}
	order := []*Server{to, from}
	for _, m := range others {
		if m != to && m != from {
			order = append(order, m)
		}
	}
	for _, m := range order {
		if err := okReply(m.Do(ctx, "CLUSTER", "SETSLOT", s, "NODE", toID)); err != nil {
			return fmt.Errorf("containers: SETSLOT %d NODE on %s: %w", slot, m, err)
		}
	}
	return nil
}

func okReply(v any, err error) error {
	if err != nil {
		return err
	}
	if v != "OK" {
		return fmt.Errorf("reply %v", v)
	}
	return nil
}

// WaitReady waits until the cluster is fully formed and agrees with
// itself:
//   - every node answers CLUSTER INFO with cluster_state:ok, all 16384
//     slots assigned and ok, and every node known;
//   - every node's CLUSTER NODES gives the same view: the same masters
//     with the same slots, the same replica of each, no node flagged
//     failing, no slot in migration;
//   - the masters are as many as configured, each with its replicas, each
//     replica with master_link_status:up and no sync in progress;
//   - a write to a key of each master is acknowledged by WAIT from all its
//     replicas (and so is its deletion).
//
// It may be called after faults, once the stopped nodes are started
// again. Without a deadline on ctx it gives up after 2 minutes, with the
// last unmet condition in the error.
func (c *Cluster) WaitReady(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, c.cfg.readyTimeout)
	defer cancel()
	for {
		err := c.checkReady(ctx)
		if err == nil {
			return nil
		}
		if werr := sleepCtx(ctx, pollInterval); werr != nil {
			return fmt.Errorf("containers: cluster (%s) not ready: %w; last: %w", c.spec.Name, werr, err)
		}
	}
}

func (c *Cluster) checkReady(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	total := len(c.nodes)
	var first string
	var firstView []ClusterNode
	for _, s := range c.nodes {
		v, err := s.Do(cctx, "CLUSTER", "INFO")
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", s.Addr(), err)
		}
		info, _ := v.(string)
		for _, fw := range [][2]string{
			{"cluster_state", "ok"},
			{"cluster_slots_assigned", "16384"},
			{"cluster_slots_ok", "16384"},
			{"cluster_slots_pfail", "0"},
			{"cluster_slots_fail", "0"},
			{"cluster_known_nodes", strconv.Itoa(total)},
			{"cluster_size", strconv.Itoa(c.cfg.masters)},
		} {
			if got, _ := infoField(info, fw[0]); got != fw[1] {
				return fmt.Errorf("%s: CLUSTER INFO %s:%s, want %s", s.Addr(), fw[0], got, fw[1])
			}
		}
		view, err := c.View(cctx, s)
		if err != nil {
			return err
		}
		norm := normalizeView(view)
		if first == "" {
			first, firstView = norm, view
		} else if norm != first {
			return fmt.Errorf("nodes disagree: %s sees\n%s\n%s sees\n%s", c.nodes[0].Addr(), first, s.Addr(), norm)
		}
		for _, n := range view {
			if n.Failing() || len(n.Migrating) > 0 || len(n.Importing) > 0 {
				return fmt.Errorf("%s: node %s flags %v, migrating %v, importing %v", s.Addr(), n.Addr, n.Flags, n.Migrating, n.Importing)
			}
		}
	}
	replicasOf := map[string][]*Server{}
	var masters []*Server
	for _, n := range firstView {
		s := c.Node(n.Addr)
		if s == nil {
			return fmt.Errorf("the cluster knows %s, no node of ours", n.Addr)
		}
		c.mu.Lock()
		c.ids[s] = n.ID
		c.mu.Unlock()
		if n.Master() {
			masters = append(masters, s)
		} else {
			replicasOf[n.MasterID] = append(replicasOf[n.MasterID], s)
		}
	}
	if len(masters) != c.cfg.masters {
		return fmt.Errorf("%d masters, want %d", len(masters), c.cfg.masters)
	}
	for _, m := range masters {
		reps := replicasOf[c.ID(m)]
		if len(reps) != c.cfg.replicas {
			return fmt.Errorf("master %s has %d replicas, want %d", m.Addr(), len(reps), c.cfg.replicas)
		}
		for _, r := range reps {
			v, err := r.Do(cctx, "INFO", "replication")
			if err != nil {
				return fmt.Errorf("replica %s: %w", r.Addr(), err)
			}
			info, _ := v.(string)
			for _, fw := range [][2]string{
				{"role", "slave"},
				{"master_port", strconv.Itoa(m.Port())},
				{"master_link_status", "up"},
				{"master_sync_in_progress", "0"},
			} {
				if got, _ := infoField(info, fw[0]); got != fw[1] {
					return fmt.Errorf("replica %s: INFO replication %s:%s, want %s", r.Addr(), fw[0], got, fw[1])
				}
			}
		}
		if err := c.probeWait(cctx, m, len(reps)); err != nil {
			return err
		}
	}
	return nil
}

// probeWait writes and deletes a key of a slot of m on one connection and
// WAITs for want replicas after each.
func (c *Cluster) probeWait(ctx context.Context, m *Server, want int) error {
	view, err := c.View(ctx, m)
	if err != nil {
		return err
	}
	slot := -1
	for _, n := range view {
		if slices.Contains(n.Flags, "myself") && len(n.Slots) > 0 {
			slot = n.Slots[0][0]
		}
	}
	if slot < 0 {
		return fmt.Errorf("master %s serves no slot", m.Addr())
	}
	key := KeyInSlot(readyProbeKey, slot)
	conn, err := m.Dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	for _, cmd := range [][]string{{"SET", key, "1"}, {"DEL", key}} {
		if _, err := conn.Do(ctx, cmd...); err != nil {
			return fmt.Errorf("master %s: %s: %w", m.Addr(), cmd[0], err)
		}
		v, err := conn.Do(ctx, "WAIT", strconv.Itoa(want), "5000")
		if err != nil {
			return fmt.Errorf("master %s: WAIT: %w", m.Addr(), err)
		}
		if v != int64(want) {
			return fmt.Errorf("master %s: WAIT %d 5000 = %v", m.Addr(), want, v)
		}
	}
	return nil
}

// normalizeView is a view without what differs from node to node
// ("myself", ping times, link states): ids, roles, masters and slots,
// one line per node, sorted.
func normalizeView(view []ClusterNode) string {
	lines := make([]string, 0, len(view))
	for _, n := range view {
		role := "replica"
		if n.Master() {
			role = "master"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s of=%s slots=%v", n.ID, n.Addr, role, n.MasterID, n.Slots))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// KeyInSlot returns a key of slot: base with a hash tag appended that
// hashes to it.
func KeyInSlot(base string, slot int) string {
	for i := 0; ; i++ {
		tag := strconv.Itoa(i)
		if hashslot.Of(tag) == slot {
			return base + ":{" + tag + "}"
		}
	}
}
