package conformance_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// broken wraps the memory driver and breaks one rule, to prove that the
// suite notices: a check that passes against a broken backend is a check
// that cannot fail.
type broken struct {
	backend.Driver
	noTrim       bool // Append ignores max_alerts
	oldestFirst  bool // Scan returns the oldest entries first
	dropBatchEnd bool // Append loses the last alert of a batch
	noClose      bool // methods keep working after Close
	lieShared    bool // claims Shared but is private
	raw          backend.Driver
}

func (b *broken) Append(ctx context.Context, alerts [][]byte) error {
	if b.dropBatchEnd && len(alerts) > 1 {
		alerts = alerts[:len(alerts)-1]
	}
	return b.Driver.Append(ctx, alerts)
}

func (b *broken) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	es, err := b.Driver.Scan(ctx, before, limit)
	if b.oldestFirst {
		for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
			es[i], es[j] = es[j], es[i]
		}
	}
	return es, err
}

func (b *broken) Close() error {
	if b.noClose {
		return nil
	}
	return b.Driver.Close()
}

func (b *broken) Capabilities() backend.Capabilities {
	c := b.Driver.Capabilities()
	if b.lieShared {
		c.Shared = true
	}
	return c
}

type brokenHarness struct {
	mk func(cfg backend.Config) backend.Driver
}

func (h brokenHarness) MakeDriver(_ context.Context, cfg backend.Config) (backend.Driver, error) {
	return h.mk(cfg), nil
}
func (brokenHarness) Close() {}

func TestSuiteCatchesBrokenBackends(t *testing.T) {
	for _, c := range []struct {
		name     string
		mk       func(cfg backend.Config) backend.Driver
		mustFail []string
	}{
		{"no-trim", func(cfg backend.Config) backend.Driver {
			cfg.MaxAlerts = backend.MaxMaxAlerts
			return &broken{Driver: memory.Open("", cfg, nil)}
		}, []string{"CapDropsOldest", "CapBatchLargerThanCap"}},
		{"oldest-first", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), oldestFirst: true}
		}, []string{"NewestFirst", "BatchOrder"}},
		{"drops-batch-end", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), dropBatchEnd: true}
		}, []string{"RoundTripLegacyFormat", "BatchOrder", "ConcurrentWriters"}},
		{"works-after-close", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), noClose: true}
		}, []string{"UseAfterClose"}},
		{"claims-shared", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), lieShared: true}
		}, []string{"SharedNamespace"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			results := conformance.Run(context.Background(), brokenHarness{mk: c.mk}, "")
			failed := map[string]error{}
			for _, r := range results {
				if r.Err != nil {
					failed[r.Name] = r.Err
				}
			}
			for _, name := range c.mustFail {
				if failed[name] == nil {
					t.Errorf("check %s passed against a backend that breaks its rule", name)
				}
			}
		})
	}
}

func TestRunReportsEveryCheck(t *testing.T) {
	h := brokenHarness{mk: func(cfg backend.Config) backend.Driver { return memory.Open("", cfg, nil) }}
	results := conformance.Run(context.Background(), h, "", "Watch")
	if len(results) != len(conformance.Checks()) {
		t.Fatalf("Run returned %d results for %d checks", len(results), len(conformance.Checks()))
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s failed on the memory backend: %v", r.Name, r.Err)
		}
		if r.Name == "Watch" && r.Skipped == "" {
			t.Errorf("Watch was asked to be skipped but ran")
		}
	}
	if !errors.Is(backend.ErrUnsupported, errors.ErrUnsupported) {
		t.Fatal("ErrUnsupported must be errors.ErrUnsupported")
	}
}
