package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/conformance"
)

// broken wraps the memory driver and breaks one rule, to prove that the
// suite notices: a check that passes against a broken backend is a check
// that cannot fail.
type broken struct {
	backend.Driver
	oldestFirst  bool // Scan returns the oldest entries first
	dropBatchEnd bool // Append loses the last alert of a batch
	noClose      bool // methods keep working after Close
	lieShared    bool // claims Shared but is private
	lieDurable   bool // claims Durable (and Persistent when liePersist)
	liePersist   bool
	lieDrain     bool // claims Drain without implementing Drainer
	lieNamespace bool // claims Namespace without implementing NamespaceKeeper
	hideWatch    bool // does not declare Watch (see watcher)
	keyedByID    bool // keeps one entry per alert id, the newest (an upsert)
}

func (b *broken) Append(ctx context.Context, alerts [][]byte) error {
	if b.dropBatchEnd && len(alerts) > 1 {
		alerts = alerts[:len(alerts)-1]
	}
	return b.Driver.Append(ctx, alerts)
}

func (b *broken) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	if b.keyedByID {
		return b.scanKeyed(ctx, before, limit)
	}
	es, err := b.Driver.Scan(ctx, before, limit)
	if b.oldestFirst {
		for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
			es[i], es[j] = es[j], es[i]
		}
	}
	return es, err
}

// scanKeyed is Scan of a backend that stores alerts by id: an entry
// whose id a newer entry carries is gone.
func (b *broken) scanKeyed(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	all, err := b.Driver.Scan(ctx, 0, backend.MaxMaxAlerts)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []backend.Entry
	for _, e := range all {
		var v struct{ ID string }
		if json.Unmarshal(e.Data, &v) == nil && v.ID != "" {
			if seen[v.ID] {
				continue
			}
			seen[v.ID] = true
		}
		if (before <= 0 || e.Pos < before) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
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
	c.Durable = c.Durable || b.lieDurable
	c.Persistent = c.Persistent || b.liePersist
	c.Drain = c.Drain || b.lieDrain
	c.Namespace = c.Namespace || b.lieNamespace
	if b.hideWatch {
		c.Watch = false
	}
	return c
}

// watcher implements Watcher; with hideWatch it does not declare it.
type watcher struct{ *broken }

func (w watcher) Watch(ctx context.Context) (backend.Subscription, error) {
	return w.Driver.(backend.Watcher).Watch(ctx)
}

// dropper implements Dropper without declaring it (memory does not).
type dropper struct{ *broken }

func (d dropper) Drop(ctx context.Context) error { return d.Clear(ctx) }

// asAnything claims to support every type in As.
type asAnything struct{ *broken }

func (asAnything) As(any) bool { return true }

// drainer is a bolt driver's Drainer, correct or broken in one way.
type drainer struct {
	*broken
	removeExtra bool // Remove deletes one entry past upTo
	newestFirst bool // Oldest returns its entries newest first
}

func (d drainer) Oldest(ctx context.Context, after int64, limit int) ([]backend.Entry, error) {
	es, err := d.Driver.(backend.Drainer).Oldest(ctx, after, limit)
	if d.newestFirst {
		slices.Reverse(es)
	}
	return es, err
}

func (d drainer) Remove(ctx context.Context, upTo int64) error {
	if d.removeExtra {
		upTo++
	}
	return d.Driver.(backend.Drainer).Remove(ctx, upTo)
}

// keeper is a named memory driver's NamespaceKeeper behind a wrapper,
// correct or broken in one way.
type keeper struct {
	*broken
	hideClears bool // NamespaceInfo leaves out the audit records of Clear
}

func (k keeper) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	info, err := k.Driver.(backend.NamespaceKeeper).NamespaceInfo(ctx)
	if k.hideClears {
		info.Audit = slices.DeleteFunc(info.Audit, func(r backend.AuditRecord) bool { return r.Op == backend.AuditClear })
	}
	return info, err
}

func (k keeper) SetCap(ctx context.Context, n int) error {
	return k.Driver.(backend.NamespaceKeeper).SetCap(ctx, n)
}

type brokenHarness struct {
	mk func(cfg backend.Config) backend.Driver
}

func (h brokenHarness) MakeDriver(_ context.Context, cfg backend.Config) (backend.Driver, error) {
	return h.mk(cfg), nil
}
func (brokenHarness) Close() {}

func TestSuiteCatchesBrokenBackends(t *testing.T) {
	dir := t.TempDir()
	openBolt := func(cfg backend.Config) backend.Driver {
		d, err := bolt.Open(context.Background(), filepath.Join(dir, "drain.db"), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// private is a private memory driver that declares what it implements
	// (the wrapper hides Watcher, so it hides the capability too).
	private := func(cfg backend.Config) *broken {
		return &broken{Driver: memory.Open("", cfg, nil), hideWatch: true}
	}
	for _, c := range []struct {
		name     string
		mk       func(cfg backend.Config) backend.Driver
		mustFail []string
		// mustPass are checks the same wrapper passes without its
		// defect: the failure above is the defect's, not the wrapper's.
		mustPass []string
	}{
		{"no-trim", func(cfg backend.Config) backend.Driver {
			cfg.MaxAlerts = backend.MaxMaxAlerts
			return &broken{Driver: memory.Open("", cfg, nil)}
		}, []string{"CapDropsOldest", "CapBatchLargerThanCap"}, nil},
		{"oldest-first", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), oldestFirst: true}
		}, []string{"NewestFirst", "BatchOrder"}, nil},
		{"drops-batch-end", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), dropBatchEnd: true}
		}, []string{"RoundTripLegacyFormat", "BatchOrder", "ConcurrentWriters"}, nil},
		{"works-after-close", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), noClose: true}
		}, []string{"UseAfterClose"}, nil},
		{"claims-shared", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), lieShared: true}
		}, []string{"SharedNamespace"}, nil},
		{"consistent", func(cfg backend.Config) backend.Driver {
			return private(cfg)
		}, nil, []string{"CapabilitiesMatchInterfaces", "Drop", "Drain", "Durable"}},
		{"watcher-undeclared", func(cfg backend.Config) backend.Driver {
			return watcher{private(cfg)}
		}, []string{"CapabilitiesMatchInterfaces"}, nil},
		{"dropper-undeclared", func(cfg backend.Config) backend.Driver {
			return dropper{private(cfg)}
		}, []string{"CapabilitiesMatchInterfaces", "Drop"}, nil},
		{"claims-drain", func(cfg backend.Config) backend.Driver {
			b := private(cfg)
			b.lieDrain = true
			return b
		}, []string{"CapabilitiesMatchInterfaces", "Drain"}, nil},
		{"as-anything", func(cfg backend.Config) backend.Driver {
			return asAnything{private(cfg)}
		}, []string{"CapabilitiesMatchInterfaces"}, nil},
		{"claims-durable", func(cfg backend.Config) backend.Driver {
			b := private(cfg)
			b.lieDurable = true
			return b
		}, []string{"CapabilitiesMatchInterfaces", "Durable"}, nil},
		{"claims-durable-persistent", func(cfg backend.Config) backend.Driver {
			b := private(cfg)
			b.lieDurable, b.liePersist = true, true
			return b
		}, []string{"Durable", "PersistentReopen"}, []string{"CapabilitiesMatchInterfaces"}},
		{"drain-removes-too-much", func(cfg backend.Config) backend.Driver {
			return drainer{broken: &broken{Driver: openBolt(cfg)}, removeExtra: true}
		}, []string{"Drain"}, nil},
		{"drain-newest-first", func(cfg backend.Config) backend.Driver {
			return drainer{broken: &broken{Driver: openBolt(cfg)}, newestFirst: true}
		}, []string{"Drain"}, nil},
		{"keyed-by-id", func(cfg backend.Config) backend.Driver {
			return &broken{Driver: memory.Open("", cfg, nil), keyedByID: true}
		}, []string{"SameIDConflictShown"}, nil},
		{"ignores-recorded-cap", func(cfg backend.Config) backend.Driver {
			cfg.MaxAlertsDefault = false // a writer without max_alerts trims to the default
			return keeper{broken: &broken{Driver: memory.Open(t.Name(), cfg, nil)}}
		}, []string{"NamespaceCap"}, []string{"ClearAudited"}},
		{"lower-cap-not-refused", func(cfg backend.Config) backend.Driver {
			cfg.MaxAlertsDefault = true // every cap taken for unset: nobody is refused
			return keeper{broken: &broken{Driver: memory.Open(t.Name(), cfg, nil)}}
		}, []string{"NamespaceCap"}, []string{"ClearAudited"}},
		{"clear-unaudited", func(cfg backend.Config) backend.Driver {
			return keeper{broken: &broken{Driver: memory.Open(t.Name(), cfg, nil)}, hideClears: true}
		}, []string{"ClearAudited"}, []string{"NamespaceCap"}},
		{"claims-namespace", func(cfg backend.Config) backend.Driver {
			b := private(cfg)
			b.lieNamespace = true
			return b
		}, []string{"CapabilitiesMatchInterfaces", "NamespaceCap", "ClearAudited"}, nil},
		{"namespace-undeclared", func(cfg backend.Config) backend.Driver {
			return keeper{broken: &broken{Driver: memory.Open("", cfg, nil), hideWatch: true}}
		}, []string{"CapabilitiesMatchInterfaces"}, nil},
		{"namespace-correct", func(cfg backend.Config) backend.Driver {
			return keeper{broken: &broken{Driver: memory.Open(t.Name(), cfg, nil)}}
		}, nil, []string{"NamespaceCap", "ClearAudited"}},
		{"drain-correct", func(cfg backend.Config) backend.Driver {
			return drainer{broken: &broken{Driver: openBolt(cfg)}}
		}, nil, []string{"Drain"}},
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
			for _, name := range c.mustPass {
				if failed[name] != nil {
					t.Errorf("check %s failed on a wrapper that keeps its rule: %v", name, failed[name])
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
