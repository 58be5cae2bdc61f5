package sentinel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
)

// monitor is the failover hygiene both schemes share. It resolves the
// master the way a careful operator would: it asks every sentinel at once
// where the master is, takes the answers in order of how many sentinels
// gave them, and accepts the first address whose node answers ROLE with
// "master". It does so when the store is opened, every check interval,
// and soon after an append failed in a way that may mean the master moved
// (kick). What to do with the answer is the client's business (retarget):
// go-redis drops its connections to every other data node, valkey-go's
// client is replaced if it is bound to another node.
//
// The client libraries follow failovers on their own (Sentinel's
// +switch-master messages); the monitor is for what they miss: a message
// lost while the sentinel they listen to was down, a node that took
// writes while it should not have, a sentinel that went quiet.
type monitor struct {
	name       string
	sentinels  []string
	sentinelEP endpoint
	dataEP     endpoint
	timeout    time.Duration
	interval   time.Duration
	retarget   func(master string, dataNodes map[string]bool)

	mu      sync.Mutex
	master  string          // last confirmed master
	nodes   map[string]bool // every data node address the sentinels named
	lastErr error           // of the last check, nil if it confirmed a master

	probes atomic.Int64 // connections the probes attempted, for tests

	kickCh    chan struct{}
	ctx       context.Context // cancelled by stop
	cancel    context.CancelFunc
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

func newMonitor(c Config, retarget func(string, map[string]bool)) *monitor {
	ctx, cancel := context.WithCancel(context.Background())
	return &monitor{
		name:      c.MasterName,
		sentinels: slices.Clone(c.Sentinels),
		sentinelEP: endpoint{
			username: c.SentinelUsername, password: c.SentinelPassword,
			tls: c.Data.TLS, dialTimeout: c.Data.DialTimeout,
		},
		dataEP: endpoint{
			username: c.Data.Username, password: c.Data.Password,
			tls: c.Data.TLS, dialTimeout: c.Data.DialTimeout,
		},
		timeout:  c.Timeout,
		interval: c.CheckInterval,
		retarget: retarget,
		nodes:    map[string]bool{},
		kickCh:   make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
}

// minKickGap spaces checks that appends asked for: a stream of failing
// appends during a failover must not become a stream of probes.
const minKickGap = 250 * time.Millisecond

// start runs the periodic check until stop.
func (m *monitor) start() {
	m.startOnce.Do(func() { go m.run() })
}

// stop ends the periodic check and waits for it.
func (m *monitor) stop() {
	m.stopOnce.Do(func() {
		m.cancel()
		m.startOnce.Do(func() { close(m.done) }) // never started
		<-m.done
	})
}

// kick asks for a check soon, without waiting for it.
func (m *monitor) kick() {
	select {
	case m.kickCh <- struct{}{}:
	default:
	}
}

func (m *monitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		case <-m.kickCh:
		}
		ctx, cancel := context.WithTimeout(m.ctx, m.timeout)
		master, err := m.resolve(ctx)
		cancel()
		if err == nil {
			m.mu.Lock()
			nodes := make(map[string]bool, len(m.nodes))
			for n := range m.nodes {
				nodes[n] = true
			}
			m.mu.Unlock()
			m.retarget(master, nodes)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(min(minKickGap, m.interval)):
		}
	}
}

// current returns the last confirmed master and the last check's error.
func (m *monitor) current() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.master, m.lastErr
}

// resolve finds the master now, as described on monitor, and records it.
func (m *monitor) resolve(ctx context.Context) (string, error) {
	master, err := m.find(ctx)
	m.mu.Lock()
	m.lastErr = err
	if err == nil {
		m.master = master
	}
	m.mu.Unlock()
	return master, err
}

func (m *monitor) find(ctx context.Context) (string, error) {
	views := make([]sentinelView, len(m.sentinels))
	errs := make([]error, len(m.sentinels))
	var wg sync.WaitGroup
	for i, s := range m.sentinels {
		wg.Go(func() {
			m.probes.Add(1)
			views[i], errs[i] = askSentinel(ctx, s, m.name, m.sentinelEP)
		})
	}
	wg.Wait()

	votes := map[string]int{}
	var order []string // candidates in order of first mention
	var problems []string
	answered, unknown, refused, untrusted := 0, 0, 0, 0
	m.mu.Lock()
	for i, s := range m.sentinels {
		if err := errs[i]; err != nil {
			problems = append(problems, fmt.Sprintf("sentinel %s: %v", s, err))
			switch {
			case errors.Is(err, errUnknownMaster):
				unknown++
			case authFailure(err):
				refused++
			case redisconf.TLSFailure(err):
				untrusted++
			}
			continue
		}
		answered++
		v := views[i]
		if votes[v.master] == 0 {
			order = append(order, v.master)
		}
		votes[v.master]++
		m.nodes[v.master] = true
		for _, r := range v.replicas {
			m.nodes[r] = true
		}
	}
	m.mu.Unlock()

	tried := strings.Join(m.sentinels, ", ")
	if answered == 0 {
		switch {
		case untrusted > 0 && untrusted+refused+unknown == len(m.sentinels):
			// A certificate that does not verify is not an outage.
			return "", fmt.Errorf("%w: master %q: TLS with the sentinels (%s) failed (check tls_ca, tls_cert/tls_key, tls_server_name): %s",
				backend.ErrSecurity, m.name, tried, strings.Join(problems, "; "))
		case refused > 0 && refused+unknown == len(m.sentinels):
			// Retrying will not help: say which credentials to fix.
			return "", fmt.Errorf("%w: master %q: the sentinels (%s) refused the sentinel credentials (sentinel_username, sentinel_password): %s",
				backend.ErrSecurity, m.name, tried, strings.Join(problems, "; "))
		case unknown == len(m.sentinels):
			return "", fmt.Errorf("%w: master %q: no sentinel of %s monitors a master of that name (check the name in the DSN path against 'sentinel monitor' in sentinel.conf)",
				backend.ErrNotFound, m.name, tried)
		}
		return "", fmt.Errorf("%w: master %q: no sentinel answered (tried %s): %s",
			backend.ErrUnavailable, m.name, tried, strings.Join(problems, "; "))
	}

	sort.SliceStable(order, func(i, j int) bool { return votes[order[i]] > votes[order[j]] })
	for _, addr := range order {
		m.probes.Add(1)
		role, err := askRole(ctx, addr, m.dataEP)
		if err == nil && role == "master" {
			return addr, nil
		}
		if authFailure(err) {
			return "", fmt.Errorf("%w: master %q: data node %s refused the data-node credentials (the DSN's user info, username=, password=): %v", backend.ErrSecurity, m.name, addr, err)
		}
		if redisconf.TLSFailure(err) {
			return "", fmt.Errorf("%w: master %q: TLS with data node %s failed (check tls_ca, tls_cert/tls_key, tls_server_name): %v", backend.ErrSecurity, m.name, addr, err)
		}
		if err == nil {
			err = fmt.Errorf("answers ROLE %s", role)
		}
		problems = append(problems, fmt.Sprintf("%s, named master by %d of %d sentinels: %v", addr, votes[addr], len(m.sentinels), err))
	}
	return "", fmt.Errorf("%w: master %q: no node the sentinels (%s) name is master now: %s",
		backend.ErrUnavailable, m.name, tried, strings.Join(problems, "; "))
}
