package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/apt-detection/alertstore/backend"
)

// EnvDSN names the environment variable that holds the default DSN.
const EnvDSN = "ALERTSTORE_DSN"

// Opener opens a driver for a parsed DSN. cfg holds the shared parameters
// (already consumed from dsn); the opener consumes its own with dsn's
// getters, must call dsn.Unknown() and fail on its error before doing any
// I/O, and returns errors that never contain a secret (use dsn.Errorf or
// dsn.String()).
type Opener func(ctx context.Context, dsn *DSN, cfg backend.Config) (backend.Driver, error)

// Registry maps schemes to openers. The zero value is ready to use;
// Default is the registry the package-level functions use.
type Registry struct {
	mu      sync.RWMutex
	openers map[string]entry
}

type entry struct {
	name   string // canonical scheme, for aliases
	opener Opener
}

// Default is the process-wide registry backends register into.
var Default = &Registry{}

// Register adds a scheme. It panics if scheme is empty, not lower-case
// letters, digits, '+', '-' or '.', or already registered: both are
// programming errors that must fail at start-up, as with database/sql.
func (r *Registry) Register(scheme string, open Opener) {
	r.register(scheme, scheme, open)
}

// RegisterAlias registers alias as another spelling of scheme (e.g.
// "memory" for "mem"); stores opened through it report the canonical name.
func (r *Registry) RegisterAlias(alias, scheme string) {
	r.mu.RLock()
	e, ok := r.openers[scheme]
	r.mu.RUnlock()
	if !ok {
		panic("registry: RegisterAlias of unregistered scheme " + scheme)
	}
	r.register(alias, e.name, e.opener)
}

func (r *Registry) register(scheme, name string, open Opener) {
	if scheme == "" {
		panic("registry: Register with an empty scheme")
	}
	for _, c := range scheme {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			panic("registry: scheme " + scheme + " has a character other than a-z 0-9 + - .")
		}
	}
	if open == nil {
		panic("registry: Register " + scheme + " with a nil opener")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.openers == nil {
		r.openers = map[string]entry{}
	}
	if _, dup := r.openers[scheme]; dup {
		panic("registry: Register called twice for scheme " + scheme)
	}
	r.openers[scheme] = entry{name: name, opener: open}
}

// Schemes lists the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open parses dsn and opens a store. An empty dsn means $ALERTSTORE_DSN.
func (r *Registry) Open(ctx context.Context, dsn string) (*backend.Store, error) {
	drv, name, cfg, err := r.open(ctx, dsn, true)
	if err != nil {
		return nil, err
	}
	s := backend.NewStore(drv, name, cfg)
	if o := observerFrom(ctx); o != nil {
		s.SetObserver(o)
	}
	return s, nil
}

// OpenDriver is Open without the Store: for wrappers (the chain backend)
// that compose drivers, and for conformance harnesses that open drivers by
// DSN. An empty dsn means $ALERTSTORE_DSN.
func (r *Registry) OpenDriver(ctx context.Context, dsn string) (backend.Driver, error) {
	drv, _, _, err := r.open(ctx, dsn, false)
	return drv, err
}

// open parses dsn and opens its driver, returning the canonical scheme and
// the shared configuration Open gives the Store. forStore: a Store will be
// built on the driver, which is what the Store's own parameters
// (sign_key_file) need.
func (r *Registry) open(ctx context.Context, dsn string, forStore bool) (backend.Driver, string, backend.Config, error) {
	if dsn == "" {
		dsn = os.Getenv(EnvDSN)
	}
	d, err := ParseDSN(dsn)
	if err != nil {
		return nil, "", backend.Config{}, openErr("", err)
	}
	d.logger = loggerFrom(ctx)
	r.mu.RLock()
	e, ok := r.openers[d.Scheme()]
	r.mu.RUnlock()
	if !ok {
		known := strings.Join(r.Schemes(), ", ")
		if known == "" {
			known = "none"
		}
		return nil, "", backend.Config{}, openErr(d.Scheme(), fmt.Errorf("%w: unknown scheme %q in DSN %s (registered: %s; forgotten import?)",
			backend.ErrInvalidConfig, d.Scheme(), d.String(), known))
	}
	cfg, err := d.Common()
	if err != nil {
		return nil, "", cfg, openErr(e.name, err)
	}
	if cfg.Sign, err = d.signKeys(forStore); err != nil {
		return nil, "", cfg, openErr(e.name, err)
	}
	drv, err := e.opener(ctx, d, cfg)
	logWarnings(ctx, d)
	if err != nil {
		return nil, "", cfg, openErr(e.name, err)
	}
	if err := d.Unknown(); err != nil {
		// The opener forgot to check; do it for it, and release what it
		// opened.
		_ = drv.Close()
		return nil, "", cfg, openErr(e.name, err)
	}
	// A driver whose shared parameters follow from others' (the chain's,
	// from its tiers) says what they came to: the Store checks those.
	if ec, ok := drv.(interface {
		EffectiveConfig(backend.Config) backend.Config
	}); ok {
		cfg = ec.EffectiveConfig(cfg)
	}
	return drv, e.name, cfg, nil
}

func openErr(scheme string, err error) error {
	var be *backend.Error
	if errors.As(err, &be) {
		return err
	}
	if scheme == "" {
		scheme = "registry"
	}
	return &backend.Error{Op: "open", Backend: scheme, Err: err}
}

// Register adds a scheme to Default.
func Register(scheme string, open Opener) { Default.Register(scheme, open) }

// RegisterAlias adds an alias to Default.
func RegisterAlias(alias, scheme string) { Default.RegisterAlias(alias, scheme) }

// Schemes lists Default's schemes.
func Schemes() []string { return Default.Schemes() }

// Open opens a store by DSN through Default.
func Open(ctx context.Context, dsn string) (*backend.Store, error) { return Default.Open(ctx, dsn) }

// OpenDriver opens a driver by DSN through Default.
func OpenDriver(ctx context.Context, dsn string) (backend.Driver, error) {
	return Default.OpenDriver(ctx, dsn)
}
