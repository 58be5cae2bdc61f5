package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TopologyOption configures a topology started by [StartTopology] or
// [StartSentinelTopology].
type TopologyOption func(*topologyConfig)

type topologyConfig struct {
	masterName      string
	replicas        int
	sentinels       int
	quorum          int // 0: a majority of the sentinels
	downAfter       time.Duration
	failoverTimeout time.Duration
	readyTimeout    time.Duration
	serverOpts      []Option
	tls             *TLSFiles // WithTopologyTLS
}

func newTopologyConfig(opts []TopologyOption) (topologyConfig, error) {
	cfg := topologyConfig{
		masterName:      "mymaster",
		replicas:        2,
		sentinels:       3,
		downAfter:       time.Second,
		failoverTimeout: 5 * time.Second,
		readyTimeout:    90 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.quorum == 0 {
		cfg.quorum = cfg.sentinels/2 + 1
	}
	switch {
	case cfg.masterName == "" || strings.ContainsAny(cfg.masterName, " \t\r\n\""):
		return cfg, fmt.Errorf("containers: bad master name %q", cfg.masterName)
	case cfg.replicas < 1:
		return cfg, fmt.Errorf("containers: a topology needs at least one replica, not %d", cfg.replicas)
	case cfg.sentinels < 1 || cfg.quorum < 1 || cfg.quorum > cfg.sentinels:
		return cfg, fmt.Errorf("containers: %d sentinels with quorum %d", cfg.sentinels, cfg.quorum)
	}
	return cfg, nil
}

// WithMasterName sets the name the sentinels monitor the master under
// (default "mymaster").
func WithMasterName(name string) TopologyOption {
	return func(c *topologyConfig) { c.masterName = name }
}

// WithReplicas sets the number of replicas (default 2).
func WithReplicas(n int) TopologyOption { return func(c *topologyConfig) { c.replicas = n } }

// WithSentinels sets the number of sentinels (default 3).
func WithSentinels(n int) TopologyOption { return func(c *topologyConfig) { c.sentinels = n } }

// WithQuorum sets the sentinel quorum (default: a majority of the
// sentinels, 2 of 3).
func WithQuorum(n int) TopologyOption { return func(c *topologyConfig) { c.quorum = n } }

// WithDownAfter sets "sentinel down-after-milliseconds" (default 1s, so
// that fault tests see a failover within seconds, not the 30s default).
func WithDownAfter(d time.Duration) TopologyOption {
	return func(c *topologyConfig) { c.downAfter = d }
}

// WithFailoverTimeout sets "sentinel failover-timeout" (default 5s). It
// also spaces out repeated failovers of the same master: sentinels refuse a
// new one within twice this time of the last attempt.
func WithFailoverTimeout(d time.Duration) TopologyOption {
	return func(c *topologyConfig) { c.failoverTimeout = d }
}

// WithReadyTimeout bounds the readiness gate run before the topology is
// returned (default 90s: six containers starting on two cores).
func WithReadyTimeout(d time.Duration) TopologyOption {
	return func(c *topologyConfig) { c.readyTimeout = d }
}

// WithServerOptions applies server options to the master and the replicas,
// e.g. [WithAOF] or [WithPassword] (the sentinels then get the password as
// auth-pass). [WithStartupTimeout] and [WithLogf] also apply to sentinels.
func WithServerOptions(opts ...Option) TopologyOption {
	return func(c *topologyConfig) { c.serverOpts = append(c.serverOpts, opts...) }
}

// WithTopologyTLS makes the whole topology speak TLS only, as a TLS
// deployment does: every data node and sentinel listens on one TLS port
// ("port 0", [WithTLSOnly]), replicas replicate over TLS and sentinels
// reach the data nodes and each other over TLS (tls-replication yes),
// each presenting f.ClientCert. With f.ClientAuth "yes" every connection
// needs a client certificate of f.CA: mutual TLS everywhere. Addresses
// ([Server.Addr], [Topology.SentinelAddrs], [Topology.CurrentMaster]) are
// the TLS ones, and the helpers' own commands speak TLS. The server
// certificate must carry the IP 127.0.0.1.
func WithTopologyTLS(f TLSFiles) TopologyOption {
	return func(c *topologyConfig) { c.tls = &f }
}

// Topology is a Sentinel-managed replication group: data nodes (one master,
// the rest its replicas) and sentinels, each in its own container on its
// own 127.0.0.1 port.
//
// Which data node is master changes with failovers. [Topology.Master] and
// [Topology.Replicas] reflect what the topology last established (at start,
// in [Topology.WaitReady] and in [Topology.Failover]); [Topology.CurrentMaster]
// asks the sentinels now.
type Topology struct {
	spec      ServerSpec
	cfg       topologyConfig
	nodes     []*Server // data nodes; nodes[0] was started as master
	sentinels []*Server

	mu     sync.Mutex
	master *Server
}

// StartTopology starts a master, its replicas and the sentinels from spec's
// image, then runs [Topology.WaitReady] before returning. The caller must
// Terminate it. Tests should use [StartSentinelTopology].
//
// Errors wrap [ErrDockerUnavailable] or [ErrImageNotFound] as for [Start].
func StartTopology(ctx context.Context, spec ServerSpec, opts ...TopologyOption) (*Topology, error) {
	cfg, err := newTopologyConfig(opts)
	if err != nil {
		return nil, err
	}
	tp := &Topology{spec: spec, cfg: cfg}
	if err := tp.start(ctx); err != nil {
		_ = tp.Terminate(context.WithoutCancel(ctx))
		return nil, err
	}
	return tp, nil
}

// StartSentinelTopology is [StartTopology] for tests: it skips or fails the
// test as [StartServer] does, and terminates every container in t.Cleanup.
func StartSentinelTopology(ctx context.Context, t testing.TB, spec ServerSpec, opts ...TopologyOption) *Topology {
	t.Helper()
	SkipShort(t)
	opts = append([]TopologyOption{WithServerOptions(WithLogf(t.Logf))}, opts...)
	tp, err := StartTopology(ctx, spec, opts...)
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := tp.Terminate(ctx); err != nil {
			t.Errorf("containers: terminate topology: %v", err)
		}
	})
	return tp
}

func (tp *Topology) start(ctx context.Context) error {
	serverOpts := tp.cfg.serverOpts
	if tp.cfg.tls != nil {
		serverOpts = append(slices.Clone(serverOpts), WithTLSOnly(*tp.cfg.tls))
	}
	dataCfg := newServerConfig(serverOpts)
	// A master delays a diskless full sync by 5s by default, to serve
	// several replicas with one snapshot; here it would only add 5s to every
	// start and resync. Before the caller's args, so that they can override.
	dataCfg.args = append([]string{"--repl-diskless-sync-delay", "0"}, dataCfg.args...)

	master, err := start(ctx, tp.spec, dataCfg, false)
	if err != nil {
		return err // names the image, and how to get it if it is missing
	}
	tp.nodes = append(tp.nodes, master)
	tp.master = master

	replicaCfg := dataCfg
	replicaCfg.args = append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port())}, dataCfg.args...)
	replicas, err := startAll(ctx, tp.cfg.replicas, func(ctx context.Context) (*Server, error) {
		return start(ctx, tp.spec, replicaCfg, false)
	})
	tp.nodes = append(tp.nodes, replicas...)
	if err != nil {
		return fmt.Errorf("containers: topology replica: %w", err)
	}

	sentinelCfg := serverConfig{
		startupTimeout: dataCfg.startupTimeout,
		logf:           dataCfg.logf,
		tls:            tp.cfg.tls,
		tlsOnly:        tp.cfg.tls != nil,
	}
	sentinelCfg.sentinelConf = tp.sentinelConf(master.Port(), dataCfg.password, sentinelCfg)
	tp.sentinels, err = startAll(ctx, tp.cfg.sentinels, func(ctx context.Context) (*Server, error) {
		return start(ctx, tp.spec, sentinelCfg, true)
	})
	if err != nil {
		return fmt.Errorf("containers: topology sentinel: %w", err)
	}

	rctx, cancel := context.WithTimeout(ctx, tp.cfg.readyTimeout)
	defer cancel()
	return tp.WaitReady(rctx)
}

// startAll starts n servers concurrently: container start-up is mostly
// waiting on the engine, and six of them one after another is slow.
// It returns the servers that started, also when another failed.
func startAll(ctx context.Context, n int, startOne func(context.Context) (*Server, error)) ([]*Server, error) {
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { servers[i], errs[i] = startOne(ctx) })
	}
	wg.Wait()
	started := slices.DeleteFunc(servers, func(s *Server) bool { return s == nil })
	return started, errors.Join(errs...)
}

// sentinelConf returns the config of a sentinel on port. Every setting the
// tests depend on is explicit. resolve-hostnames is off because all
// addresses are IPs, and announcing hostnames would change what
// clients are told. With TLS (cfg.tlsOnly) the sentinel listens on port
// with TLS only and talks TLS to the data nodes and the other sentinels.
func (tp *Topology) sentinelConf(masterPort int, password string, cfg serverConfig) func(port int) string {
	return func(port int) string {
		name := tp.cfg.masterName
		lines := []string{"port " + strconv.Itoa(port)}
		if cfg.tlsOnly {
			lines = []string{"port 0"}
			for _, kv := range cfg.tlsSettings(port) {
				lines = append(lines, kv[0]+" "+kv[1])
			}
		}
		lines = append(lines,
			"bind 127.0.0.1",
			"protected-mode no",
			"dir /data",
			"sentinel resolve-hostnames no",
			"sentinel announce-hostnames no",
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", name, masterPort, tp.cfg.quorum),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, tp.cfg.downAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", name, tp.cfg.failoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", name),
		)
		if password != "" {
			lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", name, password))
		}
		return strings.Join(lines, "\n") + "\n"
	}
}

// Spec is the matrix entry the topology runs.
func (tp *Topology) Spec() ServerSpec { return tp.spec }

// MasterName is the name the sentinels monitor the master under.
func (tp *Topology) MasterName() string { return tp.cfg.masterName }

// Master is the data node the topology last established as master.
func (tp *Topology) Master() *Server {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.master
}

// Replicas are the data nodes other than [Topology.Master].
func (tp *Topology) Replicas() []*Server {
	m := tp.Master()
	var out []*Server
	for _, n := range tp.nodes {
		if n != m {
			out = append(out, n)
		}
	}
	return out
}

// Nodes are all data nodes, in start order (the first was started as
// master), whatever their role now.
func (tp *Topology) Nodes() []*Server { return slices.Clone(tp.nodes) }

// Node returns the data node listening on addr, or nil: CurrentMaster
// answers with an address, fault tests then want the server.
func (tp *Topology) Node(addr string) *Server {
	for _, n := range tp.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// Sentinels are the sentinel servers.
func (tp *Topology) Sentinels() []*Server { return slices.Clone(tp.sentinels) }

// SentinelAddrs are the sentinels' addresses, what a Sentinel-aware client
// is configured with.
func (tp *Topology) SentinelAddrs() []string {
	out := make([]string, len(tp.sentinels))
	for i, s := range tp.sentinels {
		out[i] = s.Addr()
	}
	return out
}

// Terminate removes every container of the topology.
func (tp *Topology) Terminate(ctx context.Context) error {
	all := append(slices.Clone(tp.nodes), tp.sentinels...)
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() { errs[i] = s.Terminate(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sentinelCallTimeout bounds one question to one sentinel, so that a
// stopped or paused sentinel costs little.
const sentinelCallTimeout = 2 * time.Second

// masterAddrs asks every sentinel for the master's address. answers maps
// each answering sentinel to its answer; errs holds the others' errors.
func (tp *Topology) masterAddrs(ctx context.Context) (answers map[*Server]string, errs []error) {
	type result struct {
		s    *Server
		addr string
		err  error
	}
	results := make([]result, len(tp.sentinels))
	var wg sync.WaitGroup
	for i, s := range tp.sentinels {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, sentinelCallTimeout)
			defer cancel()
			v, err := s.Do(cctx, "SENTINEL", "get-master-addr-by-name", tp.cfg.masterName)
			results[i] = result{s: s, err: err}
			if err != nil {
				return
			}
			pair, ok := v.([]any)
			if !ok || len(pair) != 2 {
				results[i].err = fmt.Errorf("sentinel %s: get-master-addr-by-name %s = %v", s.Addr(), tp.cfg.masterName, v)
				return
			}
			host, _ := pair[0].(string)
			port, _ := pair[1].(string)
			results[i].addr = net.JoinHostPort(host, port)
		})
	}
	wg.Wait()
	answers = map[*Server]string{}
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("sentinel %s: %w", r.s.Addr(), r.err))
			continue
		}
		answers[r.s] = r.addr
	}
	return answers, errs
}

// CurrentMaster asks the sentinels which address the master has now. The
// answer is the one given by a majority of the sentinels that answer (a
// stopped sentinel does not block it); it is an error if none answer or if
// they are split, as during a failover.
func (tp *Topology) CurrentMaster(ctx context.Context) (string, error) {
	answers, errs := tp.masterAddrs(ctx)
	if len(answers) == 0 {
		return "", fmt.Errorf("containers: no sentinel answered: %w", errors.Join(errs...))
	}
	count := map[string]int{}
	for _, a := range answers {
		count[a]++
	}
	for addr, n := range count {
		if 2*n > len(answers) {
			return addr, nil
		}
	}
	return "", fmt.Errorf("containers: sentinels disagree on master %s: %s", tp.cfg.masterName, describeAnswers(answers))
}

func describeAnswers(answers map[*Server]string) string {
	var parts []string
	for s, a := range answers {
		parts = append(parts, s.Addr()+" says "+a)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// defaultWaitTimeout bounds WaitReady and Failover when ctx has no deadline.
const defaultWaitTimeout = 90 * time.Second

// pollInterval is how often the gates look again.
const pollInterval = 200 * time.Millisecond

// Failover forces a failover (SENTINEL FAILOVER, which needs no agreement
// and no failure) and waits until the answering sentinels all report a new
// master and that node answers ROLE as master. Replication to the other
// nodes may still be catching up when it returns: call WaitReady for that.
//
// Sentinels refuse a failover of a master within twice the failover timeout
// of the previous one; Failover retries such refusals until ctx is done.
func (tp *Topology) Failover(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, defaultWaitTimeout)
	defer cancel()
	old, err := tp.CurrentMaster(ctx)
	if err != nil {
		return fmt.Errorf("containers: failover: %w", err)
	}
	if err := tp.requestFailover(ctx); err != nil {
		return err
	}
	var last error
	for {
		addr, err := tp.agreedMaster(ctx)
		switch {
		case err != nil:
			last = err
		case addr == old:
			last = fmt.Errorf("sentinels still report the old master %s", old)
		default:
			node := tp.Node(addr)
			if node == nil {
				last = fmt.Errorf("sentinels report master %s, which is no node of the topology", addr)
				break
			}
			if last = checkRole(ctx, node, "master"); last == nil {
				tp.setMaster(node)
				return nil
			}
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return fmt.Errorf("containers: failover from %s: %w (last: %v)", old, err, last)
		}
	}
}

// requestFailover sends SENTINEL FAILOVER to the first sentinel that takes
// it, retrying refusals (INPROG, NOGOODSLAVE right after a change).
func (tp *Topology) requestFailover(ctx context.Context) error {
	var last error
	for {
		for _, s := range tp.sentinels {
			cctx, cancel := context.WithTimeout(ctx, sentinelCallTimeout)
			v, err := s.Do(cctx, "SENTINEL", "FAILOVER", tp.cfg.masterName)
			cancel()
			if err == nil && v == "OK" {
				return nil
			}
			last = fmt.Errorf("sentinel %s: SENTINEL FAILOVER %s = %v, %v", s.Addr(), tp.cfg.masterName, v, err)
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return fmt.Errorf("containers: failover: %w (last: %v)", err, last)
		}
	}
}

// agreedMaster is the master address when every answering sentinel, and
// at least a quorum of them, report the same one.
func (tp *Topology) agreedMaster(ctx context.Context) (string, error) {
	answers, errs := tp.masterAddrs(ctx)
	if len(answers) < tp.cfg.quorum {
		return "", fmt.Errorf("only %d sentinels answered: %w", len(answers), errors.Join(errs...))
	}
	var addr string
	for _, a := range answers {
		if addr != "" && a != addr {
			return "", fmt.Errorf("sentinels disagree: %s", describeAnswers(answers))
		}
		addr = a
	}
	return addr, nil
}

func (tp *Topology) setMaster(s *Server) {
	tp.mu.Lock()
	tp.master = s
	tp.mu.Unlock()
}

// WaitReady blocks until the topology is whole again, so that a test starts
// from, or returns to, a known state:
//   - every sentinel answers and all name the same master, a data node that
//     answers ROLE as master;
//   - every other data node is its replica with master_link_status:up and
//     master_sync_in_progress:0;
//   - every sentinel lists all those replicas and all other sentinels,
//     none of them flagged down or disconnected;
//   - a write on the master is acknowledged by WAIT from every replica
//     (the probe key is deleted again, and that too is waited for).
//
// It may be called after faults, once the stopped nodes are started again.
// Without a deadline on ctx it gives up after 90s, with the last unmet
// condition in the error.
func (tp *Topology) WaitReady(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, defaultWaitTimeout)
	defer cancel()
	for {
		err := tp.checkReady(ctx)
		if err == nil {
			return nil
		}
		if werr := sleepCtx(ctx, pollInterval); werr != nil {
			return fmt.Errorf("containers: topology %s (%s) not ready: %w; last: %w", tp.cfg.masterName, tp.spec.Name, werr, err)
		}
	}
}

// readyProbeKey is written and deleted by the gate to check replication.
const readyProbeKey = "alertstore:containers:ready-probe"

func (tp *Topology) checkReady(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	answers, errs := tp.masterAddrs(cctx)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	addr := ""
	for _, a := range answers {
		if addr != "" && a != addr {
			return fmt.Errorf("sentinels disagree: %s", describeAnswers(answers))
		}
		addr = a
	}
	master := tp.Node(addr)
	if master == nil {
		return fmt.Errorf("sentinels report master %s, which is no node of the topology", addr)
	}
	if err := checkRole(cctx, master, "master"); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)

	var replicaAddrs []string
	for _, n := range tp.nodes {
		if n == master {
			continue
		}
		replicaAddrs = append(replicaAddrs, n.Addr())
		v, err := n.Do(cctx, "INFO", "replication")
		if err != nil {
			return fmt.Errorf("replica %s: %w", n.Addr(), err)
		}
		info, _ := v.(string)
		for _, fw := range [][2]string{
			{"role", "slave"},
			{"master_host", host},
			{"master_port", port},
			{"master_link_status", "up"},
			{"master_sync_in_progress", "0"},
		} {
			if got, _ := infoField(info, fw[0]); got != fw[1] {
				return fmt.Errorf("replica %s: INFO replication %s:%s, want %s", n.Addr(), fw[0], got, fw[1])
			}
		}
	}
	sort.Strings(replicaAddrs)

	for _, s := range tp.sentinels {
		if err := tp.checkSentinelView(cctx, s, replicaAddrs); err != nil {
			return err
		}
	}

	// WAIT counts acknowledgements of this connection's writes, so the
	// write and the WAIT must share a connection.
	conn, err := master.Dial(cctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	want := int64(len(replicaAddrs))
	for _, cmd := range [][]string{{"SET", readyProbeKey, "1"}, {"DEL", readyProbeKey}} {
		if _, err := conn.Do(cctx, cmd...); err != nil {
			return fmt.Errorf("master %s: %s: %w", master.Addr(), cmd[0], err)
		}
		v, err := conn.Do(cctx, "WAIT", strconv.FormatInt(want, 10), "5000")
		if err != nil {
			return fmt.Errorf("master %s: WAIT: %w", master.Addr(), err)
		}
		if v != want {
			return fmt.Errorf("master %s: WAIT %d 5000 = %v", master.Addr(), want, v)
		}
	}
	tp.setMaster(master)
	return nil
}

// checkSentinelView checks that sentinel s knows exactly replicaAddrs as
// healthy replicas and all other sentinels as healthy peers.
func (tp *Topology) checkSentinelView(ctx context.Context, s *Server, replicaAddrs []string) error {
	v, err := s.Do(ctx, "SENTINEL", "replicas", tp.cfg.masterName)
	if err != nil {
		return fmt.Errorf("sentinel %s: SENTINEL replicas: %w", s.Addr(), err)
	}
	got, err := healthyPeers(v)
	if err != nil {
		return fmt.Errorf("sentinel %s: SENTINEL replicas: %w", s.Addr(), err)
	}
	if !slices.Equal(got, replicaAddrs) {
		return fmt.Errorf("sentinel %s: healthy replicas %v, want %v", s.Addr(), got, replicaAddrs)
	}

	v, err = s.Do(ctx, "SENTINEL", "sentinels", tp.cfg.masterName)
	if err != nil {
		return fmt.Errorf("sentinel %s: SENTINEL sentinels: %w", s.Addr(), err)
	}
	got, err = healthyPeers(v)
	if err != nil {
		return fmt.Errorf("sentinel %s: SENTINEL sentinels: %w", s.Addr(), err)
	}
	var others []string
	for _, o := range tp.sentinels {
		if o != s {
			others = append(others, o.Addr())
		}
	}
	sort.Strings(others)
	if !slices.Equal(got, others) {
		return fmt.Errorf("sentinel %s: healthy peer sentinels %v, want %v", s.Addr(), got, others)
	}
	return nil
}

// healthyPeers turns a SENTINEL replicas/sentinels reply into the sorted
// addresses of the entries not flagged down or disconnected.
func healthyPeers(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("unexpected reply %T", v)
	}
	var out []string
	for _, e := range arr {
		m, err := pairsToMap(e)
		if err != nil {
			return nil, err
		}
		flags := "," + m["flags"] + ","
		if strings.Contains(flags, ",s_down,") || strings.Contains(flags, ",o_down,") ||
			strings.Contains(flags, ",disconnected,") {
			continue
		}
		out = append(out, net.JoinHostPort(m["ip"], m["port"]))
	}
	sort.Strings(out)
	return out, nil
}

// checkRole checks the first element of ROLE ("master", "slave",
// "sentinel").
func checkRole(ctx context.Context, s *Server, want string) error {
	cctx, cancel := context.WithTimeout(ctx, sentinelCallTimeout)
	defer cancel()
	v, err := s.Do(cctx, "ROLE")
	if err != nil {
		return fmt.Errorf("%s: ROLE: %w", s.Addr(), err)
	}
	arr, _ := v.([]any)
	if len(arr) == 0 || arr[0] != want {
		return fmt.Errorf("%s: ROLE = %v, want %s", s.Addr(), v, want)
	}
	return nil
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
