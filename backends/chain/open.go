package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Tier is one tier of a chain built in code: an opened Driver, or a DSN
// that the chain opens (and, if its server is down at start, keeps trying
// to open).
type Tier struct {
	// Name labels the tier in Status and errors. Default: the DSN's
	// scheme, or "tier<N>".
	Name string
	// Driver is the tier's driver; the chain owns it and closes it.
	Driver backend.Driver
	// DSN opens the tier through Options.Registry when Driver is nil.
	DSN string
	// Config is, for a Driver tier, the shared configuration it was
	// opened with, so that the chain's rule for shared parameters applies
	// to it too; zero fields count as not set. Ignored for a DSN tier,
	// whose DSN says it.
	Config backend.Config
}

// New builds a chain from tiers, highest first, and starts its background
// work (probes, replay). Tiers given as DSNs are opened with ctx; one that
// cannot be reached is kept down and opened later, but an invalid DSN
// fails New. The chain owns every tier: Close closes them, and New closes
// the given drivers if it fails.
func New(ctx context.Context, tiers []Tier, opts *Options) (backend.Driver, error) {
	c, err := newChain(ctx, tiers, opts)
	if err != nil {
		return nil, err
	}
	if c.caps.Drop {
		// Only a chain whose every tier can drop implements Dropper:
		// declared capabilities and implemented interfaces agree.
		return &droppingChain{c}, nil
	}
	return c, nil
}

func newChain(ctx context.Context, tiers []Tier, opts *Options) (*Chain, error) {
	o := opts.withDefaults()
	closeGiven := func() {
		for _, t := range tiers {
			if t.Driver != nil {
				_ = t.Driver.Close()
			}
		}
	}
	if len(tiers) == 0 || len(tiers) > MaxTiers {
		closeGiven()
		return nil, fmt.Errorf("%w: chain: %d tiers, want 1 to %d", backend.ErrInvalidConfig, len(tiers), MaxTiers)
	}
	for i, t := range tiers {
		if (t.Driver == nil) == (t.DSN == "") {
			closeGiven()
			return nil, fmt.Errorf("%w: chain: tier %d: give a Driver or a DSN, not both or neither", backend.ErrInvalidConfig, i)
		}
	}
	r, err := resolveShared(o, tiers)
	if err != nil {
		closeGiven()
		return nil, err
	}
	o.Prefix, o.MaxAlerts, o.MaxAlertBytes = r.eff.prefix, r.eff.maxAlerts, r.eff.maxAlertBytes
	c := &Chain{opts: o, eff: r.eff, log: o.Logger, subs: map[*subscription]struct{}{}, kick: make(chan struct{}, 1), replayedIDs: newIDWindow(watchWindow(o.MaxAlerts))}
	c.replayHeld.Store(o.holdReplay)
	names := map[string]int{}
	for i, t := range tiers {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("tier%d", i)
			if t.DSN != "" {
				if d, err := registry.ParseDSN(t.DSN); err == nil {
					name = d.Scheme()
				}
			}
		}
		base := name
		if n := names[base]; n > 0 {
			name = fmt.Sprintf("%s#%d", base, n+1)
		}
		names[base]++
		dsn := r.dsns[i]
		if dsn != "" {
			dsn = inheritTimeout(dsn, o.TierTimeout.String())
		}
		prefix := r.eff.prefix
		if t.DSN == "" && t.Config.Prefix != "" {
			prefix = t.Config.Prefix
		}
		tr := &tier{idx: i, name: name, dsn: dsn, prefix: prefix, drv: t.Driver, maxAlerts: r.tcaps[i]}
		if d := t.Driver; d != nil {
			tr.live.Store(&d)
		}
		key := dsn
		if key == "" {
			key = fmt.Sprintf("%p", t.Driver)
		}
		tr.drainMu = drainLock(key)
		c.tiers = append(c.tiers, tr)
	}
	// Open the DSN tiers. A tier whose server is down stays down and is
	// opened by its prober; a bad DSN is the caller's to fix now.
	for _, t := range c.tiers {
		if t.drv != nil {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, o.TierTimeout)
		drv, err := o.Registry.OpenDriver(tctx, t.dsn)
		cancel()
		switch {
		case err == nil:
			t.drv = drv
			t.live.Store(&drv)
		case errors.Is(err, backend.ErrInvalidConfig) || insecure(err) || ctx.Err() != nil:
			// A bad DSN is the caller's to fix now; so is a tier that
			// fails a security check: the chain does not start on the
			// next tier in its place.
			_ = c.closeTiers() // the open error is what the caller needs
			if ctx.Err() != nil {
				return nil, fmt.Errorf("chain: opening tier %s: %w", t.name, ctx.Err())
			}
			return nil, fmt.Errorf("chain: tier %s: %w", t.name, err)
		default:
			t.lastErr = err.Error()
		}
	}
	for _, t := range c.tiers {
		if t.drv != nil {
			t.caps = t.drv.Capabilities()
		}
	}
	c.caps = computeCaps(c.tiers)
	// First health check, in parallel: a frozen primary is found now,
	// not by the first write.
	var wg sync.WaitGroup
	errs := make([]error, len(c.tiers))
	for i, t := range c.tiers {
		if t.drv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.call(ctx, t, func(ctx context.Context, d backend.Driver) error {
				if err := d.Ping(ctx); err != nil || i == 0 {
					return err
				}
				// A lower tier's entries are backlog (left by an
				// outage before a restart): Status shows it at once.
				n, err := d.Count(ctx)
				t.backlog.Store(n)
				return err
			})
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		_ = c.closeTiers() // the open error is what the caller needs
		return nil, fmt.Errorf("chain: %w", ctx.Err())
	}
	for i, t := range c.tiers {
		if insecure(errs[i]) {
			err := c.securityFailure(t, "open", errs[i])
			_ = c.closeTiers()
			return nil, err
		}
	}
	// The background work opens tiers too (a prober): with the logger of
	// the ctx the chain was opened with, as New did.
	c.ctx, c.cancel = context.WithCancel(registry.WithLogger(context.Background(), registry.LoggerFrom(ctx)))
	now := time.Now()
	c.cands.Store(nil) // health set below
	for i, t := range c.tiers {
		if t.drv != nil && errs[i] == nil {
			t.healthy = true
			continue
		}
		if errs[i] != nil {
			t.lastErr = errs[i].Error()
		}
		c.log.Warn(FallbackMessage, "tier", t.name, "error", t.lastErr)
		t.downSince = now
		if i == 0 {
			c.degradedSince = now
		}
		c.startProbe(t)
	}
	c.wg.Add(1)
	go c.replayLoop()
	c.wake()
	return c, nil
}

// computeCaps is the chain's capability rule (see the package doc).
func computeCaps(tiers []*tier) backend.Capabilities {
	caps := backend.Capabilities{Watch: true, Shared: true, Persistent: true, Durable: true, Drop: true}
	for _, t := range tiers {
		tc := t.caps // zero for a tier not opened: it declares nothing
		_, dropper := backend.DropperOf(t.drv)
		caps.Drop = caps.Drop && tc.Drop && dropper
		caps.Watch = caps.Watch && tc.Watch
		caps.Shared = caps.Shared && tc.Shared
		caps.Persistent = caps.Persistent && tc.Persistent
		caps.Durable = caps.Durable && tc.Durable
	}
	return caps
}

var drainLocks = struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}{m: map[string]*sync.Mutex{}}

func drainLock(key string) *sync.Mutex {
	drainLocks.mu.Lock()
	defer drainLocks.mu.Unlock()
	l, ok := drainLocks.m[key]
	if !ok {
		l = &sync.Mutex{}
		drainLocks.m[key] = l
	}
	return l
}
