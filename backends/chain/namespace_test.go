package chain_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// foreignWrapper is a wrapper backend that keeps a tier on a prefix of its
// own, whatever it was opened with: what a chain tier with its own prefix
// was before the chain refused it, and what a future wrapper might do.
type foreignWrapper struct {
	backend.Driver
	prefix string
}

func (w foreignWrapper) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Tier: "tier 1 (inner)", Prefix: w.prefix}}
}

// TestNamespaces: a chain reports every tier's namespace, labelled with
// the tier, and the Store answers for it.
func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	s, err := registry.Open(ctx, chain.FormatDSN("mem://", "mem://")+"&prefix=scratch:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []backend.Namespace{{Tier: "tier 1 (mem)", Prefix: "scratch:"}, {Tier: "tier 2 (mem#2)", Prefix: "scratch:"}}
	if got := s.Namespaces(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Namespaces() = %+v, want %+v", got, want)
	}
	if err := s.RequireNamespace("scratch:"); err != nil {
		t.Fatalf("RequireNamespace(own prefix) = %v", err)
	}
	err = s.RequireNamespace("apt_detection:")
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "tier 1 (mem)") {
		t.Fatalf("RequireNamespace(other prefix) = %v, want ErrInvalidConfig naming tier 1", err)
	}
}

// TestTierNamespaceIsReported: a tier given as a driver is known by the
// prefix it really writes under, even when Tier.Config leaves it out: a
// chain prefix that differs is refused at New (the rule for a tier DSN's
// own prefix), and without a chain prefix the tier's namespace is
// reported, through a wrapper's own tiers too, so that a scratch tool's
// RequireNamespace names it.
func TestTierNamespaceIsReported(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		tier     func() backend.Driver
		newErr   string
		required string
	}{
		{"driver-opened-elsewhere", func() backend.Driver {
			return memory.Open("", backend.Config{Prefix: "apt_detection:"}, nil)
		}, "prefix=apt_detection: on tier 2:", `tier 2 (tier1) writes under prefix "apt_detection:"`},
		{"wrapper-tier-elsewhere", func() backend.Driver {
			return foreignWrapper{memory.Open("", backend.Config{Prefix: "scratch:"}, nil), "apt_detection:"}
		}, "prefix=apt_detection: on tier 2:", `tier 2 (tier1) / tier 1 (inner) writes under prefix "apt_detection:"`},
	} {
		t.Run(c.name+"/chain-prefix", func(t *testing.T) {
			bad := c.tier()
			_, err := chain.New(ctx, []chain.Tier{{Driver: memory.Open("", backend.Config{Prefix: "scratch:"}, nil)}, {Driver: bad}}, &chain.Options{Prefix: "scratch:"})
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.newErr) {
				t.Fatalf("New = %v, want ErrInvalidConfig containing %q", err, c.newErr)
			}
			if err := bad.Ping(ctx); !errors.Is(err, backend.ErrClosed) {
				t.Fatalf("the refused tier was not closed: Ping = %v", err)
			}
		})
		t.Run(c.name+"/reported", func(t *testing.T) {
			d, err := chain.New(ctx, []chain.Tier{{Driver: memory.Open("", backend.Config{Prefix: "scratch:"}, nil)}, {Driver: c.tier()}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := backend.NewStore(d, chain.Scheme, backend.Config{Prefix: "scratch:"})
			defer s.Close()
			err = s.RequireNamespace("scratch:")
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.required) {
				t.Fatalf("RequireNamespace = %v, want ErrInvalidConfig containing %q", err, c.required)
			}
		})
	}
}
