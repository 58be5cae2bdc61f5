package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// Check is one rule of the suite.
type Check struct {
	// Name is the stable subtest name (a public contract: backends may
	// -skip it by name).
	Name string
	// Rule states, in one sentence, what a backend must do.
	Rule string
	run  func(ctx context.Context, e *Env) error
}

// errSkip marks a check that does not apply to the backend (a capability
// it does not declare).
var errSkip = errors.New("skip")

func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSkip, fmt.Sprintf(format, args...))
}

// Env is what a check runs with: a harness and a fresh namespace.
type Env struct {
	h      Harness
	cfg    backend.Config
	stores []*backend.Store
	// drivers maps each store to its driver: the suite's own route to the
	// driver (appending foreign entries, calling a closed driver), which
	// the Store does not offer its users.
	drivers map[*backend.Store]backend.Driver
	// made lists, in order, the namespaces the check opened and found
	// empty: the only ones it may clear, drop or clean up.
	made    []backend.Config
	checked map[string]bool // prefixes in made
}

// ErrForeignNamespace reports that a harness gave the suite a namespace
// the suite did not make: a driver that writes under another prefix than
// the one asked for, or one whose namespace already held entries before
// the check wrote anything (a harness that ignores cfg.Prefix and opens
// production data). The suite then refuses to write to it, clear it or
// drop it.
var ErrForeignNamespace = errors.New("conformance: the harness gave a namespace the suite did not make")

// Config is the namespace's configuration: fresh prefix, default caps.
func (e *Env) Config() backend.Config { return e.cfg }

// Open opens a store on the env's namespace, with cfg's overrides applied
// by mod (may be nil). Stores are closed when the check ends. The first
// open of each prefix checks that the driver writes under that prefix and
// that the namespace is empty, before anything is written to it.
func (e *Env) Open(ctx context.Context, mod func(*backend.Config)) (*backend.Store, error) {
	cfg := e.cfg
	if mod != nil {
		mod(&cfg)
	}
	d, err := e.h.MakeDriver(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("harness MakeDriver(prefix %q): %w", cfg.Prefix, err)
	}
	if err := e.checkFresh(ctx, d, cfg); err != nil {
		_ = d.Close()
		return nil, err
	}
	s := backend.NewStore(d, "under-test", cfg)
	e.stores = append(e.stores, s)
	if e.drivers == nil {
		e.drivers = map[*backend.Store]backend.Driver{}
	}
	e.drivers[s] = d
	return s, nil
}

// checkFresh refuses a driver that does not write under cfg.Prefix, and,
// on the first open of a prefix, one whose namespace is not empty.
func (e *Env) checkFresh(ctx context.Context, d backend.Driver, cfg backend.Config) error {
	for _, ns := range backend.NamespacesOf(d, cfg.Prefix) {
		if ns.Prefix != cfg.Prefix {
			return fmt.Errorf("%w: MakeDriver(prefix %q) returned a driver that writes under %s; the suite writes, clears and drops only namespaces it made",
				ErrForeignNamespace, cfg.Prefix, ns)
		}
	}
	if e.checked[cfg.Prefix] {
		return nil
	}
	n, err := d.Count(ctx)
	if err != nil {
		return fmt.Errorf("counting the fresh namespace %q before the check: %w", cfg.Prefix, err)
	}
	if n != 0 {
		return fmt.Errorf("%w: the fresh namespace %q already held %d entries before the check wrote anything (does MakeDriver ignore cfg.Prefix?); the suite refuses to write to it, clear it or drop it",
			ErrForeignNamespace, cfg.Prefix, n)
	}
	if e.checked == nil {
		e.checked = map[string]bool{}
	}
	e.checked[cfg.Prefix] = true
	e.made = append(e.made, cfg)
	return nil
}

// driver returns the driver behind a store that Open returned.
func (e *Env) driver(s *backend.Store) backend.Driver { return e.drivers[s] }

func (e *Env) cleanup(ctx context.Context) {
	for _, s := range e.stores {
		_ = s.Close()
	}
	// Leave nothing behind on a shared server (the CLI's selftest runs
	// against production servers, in a scratch namespace), and touch only
	// the namespaces this check made: found empty at its first open,
	// through a driver that writes where it was asked to.
	for _, cfg := range e.made {
		d, err := e.h.MakeDriver(ctx, cfg)
		if err != nil {
			continue
		}
		if foreign(d, cfg.Prefix) {
			_ = d.Close()
			continue
		}
		if dr, ok := backend.DropperOf(d); ok {
			_ = dr.Drop(ctx)
		} else {
			_ = d.Clear(ctx)
		}
		_ = d.Close()
	}
}

// foreign reports whether d writes anywhere but under prefix.
func foreign(d backend.Driver, prefix string) bool {
	return backend.CheckNamespaces(backend.NamespacesOf(d, prefix), prefix) != nil
}

// Result is the outcome of one check in Run.
type Result struct {
	Name     string
	Rule     string
	Err      error  // nil when passed or skipped
	Skipped  string // why, when skipped
	Duration time.Duration
}

// RunConformanceTests runs every check as a subtest of t.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	ctx := context.Background()
	h, err := newHarness(ctx, t)
	if err != nil {
		t.Fatalf("making the harness: %v", err)
	}
	t.Cleanup(h.Close)
	for _, c := range Checks() {
		t.Run(c.Name, func(t *testing.T) {
			err := runOne(ctx, h, c)
			switch {
			case errors.Is(err, errSkip):
				t.Skip(strings.TrimPrefix(err.Error(), "skip: "))
			case err != nil:
				t.Fatalf("rule: %s\nbroken: %v", c.Rule, err)
			}
		})
	}
}

// Run runs the suite without package testing, e.g. against a production
// server from the CLI. prefixBase, if not empty, starts every namespace
// (default "alertstore-selftest:"). Checks whose names are in skip are
// not run.
func Run(ctx context.Context, h Harness, prefixBase string, skip ...string) []Result {
	var out []Result
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	for _, c := range Checks() {
		if skipped[c.Name] {
			out = append(out, Result{Name: c.Name, Rule: c.Rule, Skipped: "skipped by request"})
			continue
		}
		start := time.Now()
		err := runOneWithBase(ctx, h, c, prefixBase)
		r := Result{Name: c.Name, Rule: c.Rule, Duration: time.Since(start)}
		if errors.Is(err, errSkip) {
			r.Skipped = strings.TrimPrefix(err.Error(), "skip: ")
		} else {
			r.Err = err
		}
		out = append(out, r)
	}
	return out
}

func runOne(ctx context.Context, h Harness, c Check) error {
	return runOneWithBase(ctx, h, c, "")
}

func runOneWithBase(ctx context.Context, h Harness, c Check, base string) (err error) {
	if base == "" {
		base = "alertstore-conformance:"
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	e := &Env{h: h, cfg: backend.Config{
		Prefix:        base + c.Name + ":" + hex.EncodeToString(rnd[:]) + ":",
		MaxAlerts:     1000,
		MaxAlertBytes: backend.DefaultMaxAlertBytes,
		Timeout:       10 * time.Second,
	}}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		e.cleanup(cctx)
	}()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return c.run(cctx, e)
}
