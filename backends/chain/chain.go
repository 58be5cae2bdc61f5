// Package chain is a backend made of ordered tiers, e.g. Redis, then a bolt
// file, then process memory: alerts go to the first tier that takes them,
// and what a lower tier took in while a higher one was down is moved back
// up (replayed) once the higher tier answers again.
//
// The system we replace fell back to an in-process list when Redis was
// down: those alerts were lost on restart, never reached Redis, and the
// dashboard reading Redis never saw them. A chain of redis -> bolt keeps
// them on local disk instead and replays them, in order and exactly once,
// when Redis is back.
//
// # DSN
//
//	chain://?tier=<DSN>&tier=<DSN>[&tier=<DSN>...][&params]
//
// Each tier= is one tier's own DSN, highest first. A tier DSN that has
// parameters of its own must be URL-escaped (at least its '&' as %26, '+'
// as %2B, '%' as %25), because the chain's query would otherwise split it;
// escaping the whole nested DSN always works, and FormatDSN does it:
//
//	chain://?tier=redis://cache:6379/0&tier=bolt:///var/lib/alertstore/alerts.db
//	chain://?tier=redis%3A%2F%2F%3Apw%40cache%3A6379%2F0%3Ftimeout%3D1s&tier=bolt:///var/lib/alertstore/alerts.db&tier_timeout=1s
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout; see docs/dsn.md), which every tier inherits unless its own DSN
// sets them:
//
//	tier_timeout    deadline of each call to one tier, default 2s; a tier
//	                that does not answer within it (stopped, or frozen
//	                like a paused container) is marked down and the next
//	                tier is tried. The last tier a call can try gets the
//	                rest of the call's deadline instead: with nowhere to
//	                fall back to, a slow fsync beats a failure. Also each
//	                tier's own timeout, unless its DSN sets one. Must be
//	                below timeout.
//	probe_interval  first wait before probing a down tier, default 1s.
//	probe_max       cap of the probe backoff, default 30s.
//	replay_batch    entries moved up per step of a replay, 1..10000,
//	                default 100.
//	replay_check    how many of the higher tier's newest entries a replay
//	                reads first to skip alerts it already holds, 0..1000000,
//	                default 10000; see "Replay".
//
// Nested DSNs keep their secrets: the chain's String and every error show
// each tier DSN redacted (registry.RedactDSN recurses into them).
// docs/dsn.md is the full reference.
//
// # Writes and health
//
// Append goes to the first healthy tier, with its own deadline
// (tier_timeout, or less if the caller's ctx ends sooner; the last tier
// gets whatever the caller's ctx leaves). A tier that fails is marked down
// and Append tries the next one in the same call; a caller's ctx that ends
// stops the call, and counts as the tier's failure only if the tier was
// given its full tier_timeout. When
// every tier fails, the error aggregates each tier's failure
// (go-multierror) and wraps backend.ErrUnavailable. An error that retrying
// elsewhere cannot fix (an invalid alert) is returned at once.
//
// A down tier is probed in the background with Ping, waiting probe_interval
// and doubling up to probe_max, with full jitter, so a fleet of processes
// does not reconnect in step; a tier that fails again soon after recovering
// goes on from its previous backoff instead of starting over (a flapping
// server gets fewer probes, not more). A tier whose DSN could not even be
// opened (its server was down at start) is opened by its prober.
//
// # Replay
//
// Whatever sits in a tier below the active one is backlog. When a higher
// tier is healthy, a background replay moves the backlog of each lower
// tier into the active tier, oldest first, replay_batch entries at a time:
// append to the higher tier, then remove from the lower one, so a crash in
// between leaves a copy in both tiers and never none. Before appending, a
// replay reads the ids in the higher tier's newest replay_check entries and
// skips those (counted in Status.Deduplicated): the copies a crash left, and
// writes that timed out on the higher tier but were applied there anyway.
// That is what makes an alert land in the higher tier exactly once, provided
// fewer than replay_check entries were written to it between the ambiguous
// write (or the interrupted replay) and the replay that follows; readers
// de-duplicate by id as a second line (Store.List).
//
// A lower tier that declares the drain capability (backend.Drainer; bolt
// does) is replayed entry by entry and survives the process being killed mid-replay. Any other lower
// tier (memory) is copied whole and cleared once copied, if nothing new
// arrived meanwhile; it must not be shared with writers outside the chain,
// and it is lossy: what it holds dies with the process (Status labels it).
//
// Replay never pushes newer alerts out of the cap: a backlog entry older
// than the cap's worth of newer alerts (in the higher tier and the rest of
// the backlog) is removed without being moved (Status.DroppedForCap), since
// the higher tier would trim newer alerts to make room for it.
//
// # Reads
//
// When only the active tier holds entries (healthy, backlog empty), Scan,
// Count and cursors are the active tier's own. While lower tiers hold
// entries, reads merge every readable tier newest-first by the time in the
// alert's id (ids are UUIDv7, time-ordered; an alert with another id is
// placed by its timestamp), de-duplicated by id, within max_alerts. Merged
// reads read every tier up to the cap on each call: O(max_alerts) per page,
// fine for the minutes of an outage, not a way to serve a dashboard.
//
// A position in a merged read is the alert's time key, and a listing that
// started merged goes on in time-key order to its end, even once the
// backlog is replayed and the active tier alone would do: so paging across
// a recovery neither repeats nor skips (after a replay a tier's own order
// is not time order, so a time cursor cannot be applied to it). A cursor of
// a single tier that meets a merged read is translated to the time key of
// its entry: exact when that tier's order is time order (alerts written
// live, not replayed), and from the newest if its tier cannot be read. Two
// alerts with one time key (ids from the same 256ns in two processes) may
// be split by a page boundary and one skipped.
//
// # Watch
//
// Watch subscribes to every tier and de-duplicates by id, so it keeps
// delivering across a fallback (the lower tier's writes) and a recovery.
// The chain's own acknowledged writes are delivered by the chain itself,
// at once, because a tier's subscription can lose the notifications in
// flight when its connection drops; the tiers' subscriptions bring the
// other writers' alerts, and their copies of ours are dropped as
// duplicates. A replayed alert, which the higher tier announces again, is
// never delivered as new. A tier's broken subscription is renewed when its
// prober finds it healthy, before writes go back to it. Alerts that other
// processes write to a tier in the seconds between its recovery and our
// probe are in List but may be missed by Watch; order is kept within one
// writer, not across tiers.
//
// # Capabilities
//
// Computed from the tiers, never hidden: Watch, Shared, Persistent and Drop
// only if every tier has them (an alert can be in any tier); Durable only if
// every tier that can take a write is durable, so redis -> bolt -> memory is
// not Durable: an alert acknowledged by the memory tier dies with the
// process. A tier that could not be opened at start counts as having
// nothing, for the chain's whole life (capabilities never change).
package chain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Scheme is the DSN scheme.
const Scheme = "chain"

// Defaults of Options, also the DSN parameter defaults.
const (
	DefaultTierTimeout   = 2 * time.Second
	DefaultProbeInterval = time.Second
	DefaultProbeMax      = 30 * time.Second
	DefaultReplayBatch   = 100
	DefaultReplayCheck   = 10_000
	// MaxTiers bounds a chain: positions carry the tier in 4 bits.
	MaxTiers = 16
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
}

// Options tune a chain. The zero value (or nil) is the defaults.
type Options struct {
	// MaxAlerts is the cap of merged reads and of replay (see the package
	// doc). Default backend.DefaultMaxAlerts.
	MaxAlerts int
	// TierTimeout bounds each call to one tier. Default
	// DefaultTierTimeout.
	TierTimeout time.Duration
	// ProbeInterval is the first wait before probing a down tier.
	// Default DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeMax caps the probe backoff. Default DefaultProbeMax.
	ProbeMax time.Duration
	// ReplayBatch is how many entries one replay step moves. Default
	// DefaultReplayBatch.
	ReplayBatch int
	// ReplayCheck is how many of the higher tier's newest entries a
	// replay reads for ids it already holds. Default DefaultReplayCheck;
	// negative means 0 (no check).
	ReplayCheck int
	// Registry opens DSN tiers. Default registry.Default.
	Registry *registry.Registry
	// Logf, if set, is told of fallbacks, recoveries and replays.
	Logf func(format string, args ...any)
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxAlerts <= 0 {
		c.MaxAlerts = backend.DefaultMaxAlerts
	}
	if c.TierTimeout <= 0 {
		c.TierTimeout = DefaultTierTimeout
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.ProbeMax <= 0 {
		c.ProbeMax = DefaultProbeMax
	}
	if c.ProbeMax < c.ProbeInterval {
		c.ProbeMax = c.ProbeInterval
	}
	if c.ReplayBatch <= 0 {
		c.ReplayBatch = DefaultReplayBatch
	}
	if c.ReplayCheck == 0 {
		c.ReplayCheck = DefaultReplayCheck
	} else if c.ReplayCheck < 0 {
		c.ReplayCheck = 0
	}
	if c.Registry == nil {
		c.Registry = registry.Default
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// Chain is the chain's driver. New returns it as a backend.Driver (wrapped,
// when every tier can drop, in a type that also implements
// backend.Dropper, so that the interface and the declared capability
// agree); StatusOf on a Store (or Store.As with a *Status), or the Status
// method the returned driver has either way, reports the chain's state.
type Chain struct {
	opts  Options
	tiers []*tier
	caps  backend.Capabilities

	mu            sync.Mutex // guards the tiers' health fields and subs
	degradedSince time.Time
	subs          map[*subscription]struct{}

	closed atomic.Bool
	ctx    context.Context // background work; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the replay loop

	replayedMu  sync.Mutex
	replayedIDs *idWindow // ids replay appended up: not news for watchers

	replaying                                     atomic.Bool
	replayHeld                                    atomic.Bool // tests: hold replay to observe merged reads
	replayed, fallbacks, deduplicated, droppedCap atomic.Uint64
}

// tier is one tier and its health.
type tier struct {
	idx  int
	name string
	dsn  string // as given, secrets included: never print it

	// Guarded by Chain.mu.
	drv         backend.Driver
	caps        backend.Capabilities
	healthy     bool
	probing     bool
	downSince   time.Time
	lastErr     string
	recoveredAt time.Time
	backoff     time.Duration // the prober's current wait

	probes  atomic.Uint64
	backlog atomic.Int64 // last known entry count, for tiers below the top

	// writeMu orders the chain's own appends to this tier against a
	// replay that clears it (tiers without Drainer).
	writeMu sync.RWMutex
	// drainMu is shared by every chain of this process on the same
	// storage, so that two chains never replay it at once.
	drainMu *sync.Mutex
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

// droppingChain is a Chain that implements backend.Dropper.
type droppingChain struct{ *Chain }

// Drop drops the namespace in every tier; a tier it cannot reach makes it
// fail, as Clear does.
func (c *droppingChain) Drop(ctx context.Context) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	var errs []error
	for _, t := range c.tiers {
		t.writeMu.Lock()
		err := c.call(ctx, t, func(ctx context.Context, d backend.Driver) error {
			dr, ok := backend.DropperOf(d)
			if !ok {
				return fmt.Errorf("%w: tier does not implement Dropper", backend.ErrUnsupported)
			}
			return dr.Drop(ctx)
		})
		t.writeMu.Unlock()
		if err == nil {
			t.backlog.Store(0)
			continue
		}
		if ctx.Err() != nil {
			return fmt.Errorf("chain: drop tier %s: %w", t.name, ctx.Err())
		}
		errs = append(errs, tierError(t, err))
	}
	if len(errs) > 0 {
		return aggregate("drop", errs)
	}
	return nil
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
	c := &Chain{opts: o, subs: map[*subscription]struct{}{}, kick: make(chan struct{}, 1), replayedIDs: newIDWindow(watchWindow(o.MaxAlerts))}
	names := map[string]int{}
	for i, t := range tiers {
		if (t.Driver == nil) == (t.DSN == "") {
			closeGiven()
			return nil, fmt.Errorf("%w: chain: tier %d: give a Driver or a DSN, not both or neither", backend.ErrInvalidConfig, i)
		}
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
		tr := &tier{idx: i, name: name, dsn: t.DSN, drv: t.Driver}
		key := t.DSN
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
		case errors.Is(err, backend.ErrInvalidConfig) || ctx.Err() != nil:
			c.closeTiers()
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
		c.closeTiers()
		return nil, fmt.Errorf("chain: %w", ctx.Err())
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	now := time.Now()
	for i, t := range c.tiers {
		if t.drv != nil && errs[i] == nil {
			t.healthy = true
			continue
		}
		if errs[i] != nil {
			t.lastErr = errs[i].Error()
		}
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
		_, dropper := t.drv.(backend.Dropper)
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

// String names the tiers, each DSN redacted:
// "chain(redis=redis://:xxxxx@cache:6379/0?..., bolt=bolt:///var/...)".
func (c *Chain) String() string {
	var b strings.Builder
	b.WriteString("chain(")
	for i, t := range c.tiers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.name)
		if t.dsn != "" {
			b.WriteString("=" + registry.RedactDSN(t.dsn))
		}
	}
	b.WriteString(")")
	return b.String()
}

// Capabilities is computed once from the tiers; see the package doc.
func (c *Chain) Capabilities() backend.Capabilities { return c.caps }

// Close stops the probes and the replay (a replay step in flight finishes
// or fails on its deadline: it never leaves an alert in neither tier),
// ends the watches and closes every tier.
func (c *Chain) Close() error {
	// Set under mu: a prober is started under mu only while not closed,
	// so none starts once Close waits for them.
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return backend.ErrClosed
	}
	c.closed.Store(true)
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for s := range subs {
		_ = s.Close()
	}
	return c.closeTiers()
}

func (c *Chain) closeTiers() error {
	var errs *multierror.Error
	for _, t := range c.tiers {
		c.mu.Lock()
		d := t.drv
		c.mu.Unlock()
		if d == nil {
			continue
		}
		if err := d.Close(); err != nil && !errors.Is(err, backend.ErrClosed) {
			errs = multierror.Append(errs, fmt.Errorf("tier %s: %w", t.name, err))
		}
	}
	return errs.ErrorOrNil()
}

func (c *Chain) check(ctx context.Context) error {
	if c.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// driver returns the tier's driver, nil while it is not opened.
func (c *Chain) driver(t *tier) backend.Driver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.drv
}

// call runs fn on t's driver with the tier deadline.
func (c *Chain) call(ctx context.Context, t *tier, fn func(ctx context.Context, d backend.Driver) error) error {
	return c.callWithin(ctx, t, c.opts.TierTimeout, fn)
}

// callLast runs fn on the last tier a call can try: with the caller's
// whole remaining deadline, since cutting it short would only turn a slow
// success (an fsync on a busy disk) into a failure with nowhere to go.
func (c *Chain) callLast(ctx context.Context, t *tier, fn func(ctx context.Context, d backend.Driver) error) error {
	return c.callWithin(ctx, t, 0, fn)
}

func (c *Chain) callWithin(ctx context.Context, t *tier, within time.Duration, fn func(ctx context.Context, d backend.Driver) error) error {
	d := c.driver(t)
	if d == nil {
		return fmt.Errorf("%w: not opened yet", backend.ErrUnavailable)
	}
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if within > 0 {
		tctx, cancel = context.WithTimeout(ctx, within)
	}
	defer cancel()
	err := fn(tctx, d)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
		err = fmt.Errorf("%w: no answer within tier_timeout %s: %w", backend.ErrUnavailable, c.opts.TierTimeout, err)
	}
	return err
}

// permanent reports an error that another tier would return too: falling
// back cannot help, and the tier is not to blame.
func permanent(err error) bool {
	return errors.Is(err, backend.ErrInvalidAlert) || errors.Is(err, backend.ErrInvalidQuery)
}

// tierError names the tier in an error, and makes sure errors.Is finds
// ErrUnavailable through the aggregate.
func tierError(t *tier, err error) error {
	if errors.Is(err, backend.ErrUnavailable) {
		return fmt.Errorf("tier %s: %w", t.name, err)
	}
	return fmt.Errorf("tier %s: %w: %w", t.name, backend.ErrUnavailable, err)
}

// aggregate is the one error of a call that failed on tiers: each tier's
// failure (go-multierror), and ErrUnavailable through errors.Is, since
// every element wraps it (tierError).
func aggregate(op string, errs []error) error {
	if len(errs) == 0 {
		return fmt.Errorf("%w: chain: %s: no tier available", backend.ErrUnavailable, op)
	}
	return &multierror.Error{Errors: errs, ErrorFormat: func(es []error) string {
		s := fmt.Sprintf("chain: %s failed on %d tier(s)", op, len(es))
		for _, e := range es {
			s += "; " + e.Error()
		}
		return s
	}}
}
