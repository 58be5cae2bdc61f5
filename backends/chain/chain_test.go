package chain_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// redisLike is what the fake primary declares: a shared, persistent,
// watchable server that is not durable, like Redis.
var redisLike = backend.Capabilities{Watch: true, Shared: true, Persistent: true}

// harness builds a chain per MakeDriver from tiers made for cfg.
type harness struct {
	tiers func(cfg backend.Config) ([]chain.Tier, error)
}

func (h harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	tiers, err := h.tiers(cfg)
	if err != nil {
		return nil, err
	}
	return chain.New(ctx, tiers, &chain.Options{Prefix: cfg.Prefix, MaxAlerts: cfg.MaxAlerts})
}

func (harness) Close() {}

func boltTier(path string) func(ctx context.Context, cfg backend.Config) (chain.Tier, error) {
	return func(ctx context.Context, cfg backend.Config) (chain.Tier, error) {
		d, err := bolt.Open(ctx, path, cfg, nil)
		return chain.Tier{Name: "bolt", Driver: d}, err
	}
}

// harnesses are the chains the suite runs against: healthy, and degraded
// (the first tier down for the whole run, as when Redis is unreachable).
func harnesses(t *testing.T) map[string]harness {
	path := filepath.Join(t.TempDir(), "alerts.db")
	lowerName := t.Name() + "-lower"
	return map[string]harness{
		"healthy/memory-memory": {func(cfg backend.Config) ([]chain.Tier, error) {
			return []chain.Tier{{Name: "primary", Driver: memory.Open("", cfg, nil)}, {Name: "fallback", Driver: memory.Open("", cfg, nil)}}, nil
		}},
		"healthy/memory-bolt": {func(cfg backend.Config) ([]chain.Tier, error) {
			b, err := boltTier(path)(context.Background(), cfg)
			return []chain.Tier{{Name: "primary", Driver: memory.Open("", cfg, nil)}, b}, err
		}},
		"healthy/bolt-bolt": {func(cfg backend.Config) ([]chain.Tier, error) {
			a, err := boltTier(path+".primary")(context.Background(), cfg)
			if err != nil {
				return nil, err
			}
			b, err := boltTier(path)(context.Background(), cfg)
			return []chain.Tier{a, b}, err
		}},
		"degraded/down-memory": {func(cfg backend.Config) ([]chain.Tier, error) {
			p := newFlaky(memory.Open(t.Name()+"-primary", cfg, nil), redisLike, down)
			return []chain.Tier{{Name: "primary", Driver: p}, {Name: "fallback", Driver: memory.Open(lowerName, cfg, nil)}}, nil
		}},
		"degraded/down-bolt": {func(cfg backend.Config) ([]chain.Tier, error) {
			p := newFlaky(memory.Open(t.Name()+"-primary", cfg, nil), redisLike, down)
			b, err := boltTier(path)(context.Background(), cfg)
			return []chain.Tier{{Name: "primary", Driver: p}, b}, err
		}},
	}
}

// degradedSkips are the checks a chain whose first tier is down cannot
// pass, by design: Clear cannot clear a tier it cannot reach, and says so
// (ErrUnavailable) instead of reporting an empty store that would fill up
// again when the tier comes back. NamespacesIsolated calls Clear; the
// isolation itself is checked while degraded by TestDegradedIsolation,
// and Clear's behaviour by TestClearWhileDegraded.
var degradedSkips = []string{"Clear", "NamespacesIsolated"}

func TestConformance(t *testing.T) {
	for name, h := range harnesses(t) {
		t.Run(name, func(t *testing.T) {
			if !strings.HasPrefix(name, "degraded/") {
				conformance.RunConformanceTests(t, func(context.Context, testing.TB) (conformance.Harness, error) {
					return h, nil
				})
				return
			}
			for _, r := range conformance.Run(context.Background(), h, "", degradedSkips...) {
				t.Run(r.Name, func(t *testing.T) {
					switch {
					case r.Skipped != "":
						t.Skip(r.Skipped + " (see degradedSkips)")
					case r.Err != nil:
						t.Fatalf("rule: %s\nbroken: %v", r.Rule, r.Err)
					}
				})
			}
		})
	}
}
