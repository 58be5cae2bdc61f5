package chain

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// active returns the first healthy tier, or nil when none is.
func (c *Chain) active() *tier {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tiers {
		if t.healthy {
			return t
		}
	}
	return nil
}

// candidates lists the tiers to try, in order: the healthy ones, or, when
// none is healthy, every tier (a probe may simply not have run yet).
func (c *Chain) candidates() []*tier {
	if p := c.cands.Load(); p != nil {
		return *p // no lock on the write path while health is unchanged
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tier
	for _, t := range c.tiers {
		if t.healthy {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = append(out, c.tiers...)
	}
	c.cands.Store(&out)
	return out
}

func (c *Chain) isHealthy(t *tier) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.healthy
}

// markDown records a tier's failure, and starts its prober if it was
// healthy. The caller has checked that the failure is the tier's, not the
// caller's ctx.
//
// A security failure (insecure) never marks a tier down: that would send
// the writes to the next tier, silently. It is logged at error level and
// the tier stays where it was.
func (c *Chain) markDown(t *tier, err error) {
	if insecure(err) {
		_ = c.securityFailure(t, "call", err)
		return
	}
	c.mu.Lock()
	t.lastErr = err.Error()
	if !t.healthy {
		c.mu.Unlock()
		return
	}
	t.healthy = false
	c.cands.Store(nil)
	now := time.Now()
	t.downSince = now
	t.downs.Add(1)
	if t.idx == 0 {
		c.degradedSince = now
	}
	c.fallbacks.Add(1)
	// A tier that fails again within probe_max of recovering goes on
	// from its previous backoff: a flapping server is probed less often,
	// not more.
	if now.Sub(t.recoveredAt) > c.opts.ProbeMax {
		t.backoff = 0
	}
	c.startProbeLocked(t)
	c.mu.Unlock()
	// Outside the lock: a log handler may well call Status.
	c.log.Warn(FallbackMessage, "tier", t.name, "error", err)
}

func (c *Chain) startProbe(t *tier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.startProbeLocked(t)
}

func (c *Chain) startProbeLocked(t *tier) {
	if t.probing || c.ctx == nil || c.closed.Load() {
		return
	}
	t.probing = true
	c.wg.Add(1)
	go c.probe(t)
}

// nextWait doubles the tier's backoff up to probe_max and returns it with
// full jitter (uniform in [wait/2, wait]).
func (c *Chain) nextWait(t *tier) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.backoff <= 0 {
		t.backoff = c.opts.ProbeInterval
	} else {
		t.backoff = min(2*t.backoff, c.opts.ProbeMax)
	}
	w := t.backoff
	return w/2 + rand.N(w/2+1)
}

// probe pings a down tier until it answers (opening it first if it never
// was), then restores it. It ends when the chain closes.
//
// restore clears t.probing in the same critical section that marks t
// healthy: a call that fails on t right after that, while this prober is
// still on its way out, must start a prober of its own. (Cleared on the
// way out instead, the failure found this prober still marked running,
// started none, and t stayed down for good.)
func (c *Chain) probe(t *tier) {
	defer c.wg.Done()
	restored := false
	defer func() {
		if restored {
			return // t.probing was cleared by restore, and may be another prober's by now
		}
		c.mu.Lock()
		t.probing = false
		c.mu.Unlock()
	}()
	for {
		timer := time.NewTimer(c.nextWait(t))
		select {
		case <-c.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		t.probes.Add(1)
		err := c.ping(t)
		if err == nil {
			restored = true
			c.restore(t)
			return
		}
		if c.ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		t.lastErr = err.Error()
		c.mu.Unlock()
		if insecure(err) {
			// The tier was down already, so writes were going to the
			// next tier; now it answers but fails a security check:
			// say so at error level on every probe, not as an outage.
			c.log.Error(SecurityProbeMessage, "tier", t.name, "error", err)
		}
	}
}

func (c *Chain) ping(t *tier) error {
	if c.driver(t) == nil {
		tctx, cancel := context.WithTimeout(c.ctx, c.opts.TierTimeout)
		drv, err := c.opts.Registry.OpenDriver(tctx, t.dsn)
		cancel()
		if err != nil {
			return err
		}
		c.mu.Lock()
		t.drv = drv
		t.live.Store(&drv)
		// For Status only: the chain's capabilities were fixed at New.
		t.caps = drv.Capabilities()
		c.mu.Unlock()
	}
	return c.call(c.ctx, t, func(ctx context.Context, d backend.Driver) error { return d.Ping(ctx) })
}

// restore renews the watches on t, then lets writes go to it again and
// wakes the replay: in that order, so that no alert written to t after
// its recovery is missed by a watcher.
func (c *Chain) restore(t *tier) {
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.subscribe(t)
		select { // a kept subscription: ask it again now
		case s.wake[t.idx] <- struct{}{}:
		default:
		}
	}
	c.mu.Lock()
	t.healthy = true
	c.cands.Store(nil)
	t.recoveredAt = time.Now()
	if t.idx == 0 {
		c.degradedSince = time.Time{}
	}
	t.probing = false // see probe: from now on a failure starts a new prober
	c.mu.Unlock()
	c.log.Info(RecoveredMessage, "tier", t.name)
	c.wake()
}

// wake asks the replay loop to look for backlog now.
func (c *Chain) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
