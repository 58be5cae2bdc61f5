package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// keepsPrefix is a wrapper backend (scheme "test-keeps-prefix") whose one
// tier keeps the production prefix whatever prefix it is opened with: the
// case of a chain tier with its own prefix=, for any wrapper, present or
// future. Its tier is the named memory store "scratchprod".
type keepsPrefix struct{ backend.Driver }

func (keepsPrefix) Namespaces() []backend.Namespace {
	return []backend.Namespace{{Tier: "tier 1 (inner)", Prefix: backend.DefaultPrefix}}
}

func init() {
	registry.Register("test-keeps-prefix", func(_ context.Context, d *registry.DSN, _ backend.Config) (backend.Driver, error) {
		if err := d.Unknown(); err != nil {
			return nil, err
		}
		return keepsPrefix{memory.Open("scratchprod", backend.Config{Prefix: backend.DefaultPrefix}, nil)}, nil
	})
}

// TestScratchToolsRefuseForeignNamespace: demo and selftest refuse, with
// exit 2, before their first write, a DSN any of whose tiers writes
// outside their scratch prefix; the message names the tier and never the
// password, and the production alerts are exactly as they were.
func TestScratchToolsRefuseForeignNamespace(t *testing.T) {
	ctx := context.Background()
	prod := backend.NewStore(memory.Open("scratchprod", backend.Config{Prefix: backend.DefaultPrefix}, nil), "mem", backend.Config{})
	defer prod.Close()
	for _, e := range []string{"real-a", "real-b", "real-c"} {
		a := backend.NewAlert()
		if err := a.SetEntity(e); err != nil {
			t.Fatal(err)
		}
		if err := prod.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		p, err := prod.List(ctx, backend.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range p.Alerts {
			out = append(out, a.ID())
		}
		return out
	}
	before := ids()
	wrapper := "test-keeps-prefix://:hunter2@x/"
	chainDSN := chain.FormatDSN("mem://:hunter2@prod?prefix="+url.QueryEscape(backend.DefaultPrefix), "mem://")
	for _, c := range []struct {
		name, cmd, dsn, tier string
	}{
		{"demo/wrapper", "demo", wrapper, "tier 1 (inner)"},
		{"selftest/wrapper", "selftest", wrapper, "tier 1 (inner)"},
		{"demo/chain-tier-prefix", "demo", chainDSN, "tier 1 (mem)"},
		{"selftest/chain-tier-prefix", "selftest", chainDSN, "tier 1 (mem)"},
		{"bench/wrapper", "bench", wrapper, "tier 1 (inner)"},
		{"bench/chain-tier-prefix", "bench", chainDSN, "tier 1 (mem)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.cmd, "--dsn", c.dsn)
			if code != exitUsage || !strings.Contains(errOut, c.tier) || !strings.Contains(errOut, "apt_detection:") {
				t.Fatalf("%s = exit %d\nstdout: %s\nstderr: %s\nwant exit 2 naming %s and its prefix", c.cmd, code, out, errOut, c.tier)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Fatalf("password printed:\n%s%s", out, errOut)
			}
			if after := ids(); !slices.Equal(before, after) {
				t.Fatalf("%s changed the production alerts: before %v, after %v", c.cmd, before, after)
			}
		})
	}
}
