package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
	"github.com/hashicorp/go-multierror"
)

// Chain is the chain's driver. New returns it as a backend.Driver (wrapped,
// when every tier can drop, in a type that also implements
// backend.Dropper, so that the interface and the declared capability
// agree); StatusOf on a Store (or Store.As with a *Status), or the Status
// method the returned driver has either way, reports the chain's state.
type Chain struct {
	opts  Options
	eff   shared       // the effective shared parameters (config.go)
	log   *slog.Logger // Options.Logger
	tiers []*tier
	caps  backend.Capabilities

	mu            sync.Mutex // guards the tiers' health fields and subs
	degradedSince time.Time
	subs          map[*subscription]struct{}
	// nsubs is len(subs), for a notify that need not lock.
	nsubs atomic.Int32
	// cands is what candidates returns while no tier's health changes
	// (nil: to compute); shared by the callers, who only read it.
	cands atomic.Pointer[[]*tier]

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
	dsn  string // with what it inherits, secrets included: never print it

	prefix string // the prefix the chain gave it: what its driver must report

	maxAlerts int // its cap: what replay into it keeps (config.go)

	// Guarded by Chain.mu.
	drv         backend.Driver
	live        atomic.Pointer[backend.Driver] // drv once set, read without c.mu
	caps        backend.Capabilities
	healthy     bool
	probing     bool
	downSince   time.Time
	lastErr     string
	recoveredAt time.Time
	backoff     time.Duration // the prober's current wait

	probes  atomic.Uint64
	backlog atomic.Int64 // last known entry count, for tiers below the top
	// downs counts the times the tier was marked down. A replay into it
	// ends its session when this changes (replay.go): a write that failed
	// on it meanwhile may have been applied there after the session read
	// its ids.
	downs atomic.Uint64

	// writeMu orders the chain's own appends to this tier against a
	// replay that clears it (tiers without Drainer).
	writeMu sync.RWMutex
	// drainMu is shared by every chain of this process on the same
	// storage, so that two chains never replay it at once.
	drainMu *sync.Mutex
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

// Namespaces implements backend.Namespacer: every tier's namespaces, each
// labelled with its tier ("tier 1 (redis)"); a tier that is itself a
// wrapper reports its own tiers under that label. A tier not opened yet
// reports the prefix it will be opened with.
func (c *Chain) Namespaces() []backend.Namespace {
	var out []backend.Namespace
	for _, t := range c.tiers {
		out = append(out, backend.TierNamespaces(t.label(), t.namespaces(c.driver(t)))...)
	}
	return out
}

// label names the tier in errors and namespaces: its number from 1, as in
// the DSN, and its name; never its DSN.
func (t *tier) label() string { return fmt.Sprintf("tier %d (%s)", t.idx+1, t.name) }

// namespaces is what the tier's driver reports, or the prefix the chain
// gave it when it is not opened.
func (t *tier) namespaces(d backend.Driver) []backend.Namespace {
	if d == nil {
		return []backend.Namespace{{Prefix: t.prefix}}
	}
	return backend.NamespacesOf(d, t.prefix)
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
	c.nsubs.Store(0)
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
	if d := t.live.Load(); d != nil {
		return *d // set once, never cleared
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.drv
}
