package chain_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/storebench"
	"github.com/apt-detection/alertstore/internal/storebench/baseline"
)

// BenchmarkOverhead is the suite's Write row for a chain of a memory
// store then a bolt file, against its first tier alone (store/raw here is
// chain/tier): what the chain itself costs per call, with no network in
// between to hide it (issue 10's target: at least 0.9x the tier alone).
// The real-server figure is servertest/bench's BenchmarkChainOverhead.
func BenchmarkOverhead(b *testing.B) {
	storebench.Write(b, storebench.Payload(conformance.LegacyAlerts()), []storebench.Target{{
		Name: "chain-vs-memory",
		Open: func(b *testing.B, cfg backend.Config) (*backend.Store, storebench.Raw) {
			ctx := context.Background()
			cfg.Prefix = "bench:"
			lower, err := bolt.Open(ctx, filepath.Join(b.TempDir(), "lower.db"), cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			drv, err := chain.New(ctx, []chain.Tier{{Name: "memory", Driver: memory.Open("", cfg, nil)}, {Name: "bolt", Driver: lower}}, &chain.Options{MaxAlerts: cfg.MaxAlerts})
			if err != nil {
				b.Fatal(err)
			}
			s := backend.NewStore(drv, chain.Scheme, cfg)
			tier := backend.NewStore(memory.Open("", cfg, nil), memory.Scheme, cfg)
			b.Cleanup(func() { _ = s.Close(); _ = tier.Close() })
			return s, baseline.Store{S: tier}
		},
	}})
}
