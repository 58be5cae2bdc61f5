package chain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

// A chain opened by DSN: FormatDSN escapes each tier's DSN. In production
// the first tier would be redis://...; mem:// keeps the example offline.
func Example() {
	dir, _ := os.MkdirTemp("", "chain-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	dsn := chain.FormatDSN("mem://", "bolt://"+filepath.Join(dir, "alerts.db")) + "&tier_timeout=1s"
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	if err := s.Store(ctx, a); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := chain.StatusOf(s)
	fmt.Println("active:", st.Active, "backlog:", st.Backlog)
	for _, t := range st.Tiers {
		fmt.Printf("%s healthy=%v lossy=%v\n", t.Name, t.Healthy, t.Lossy)
	}
	// Output:
	// active: mem backlog: 0
	// mem healthy=true lossy=true
	// bolt healthy=true lossy=false
}

// A chain built in code from opened drivers.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "chain-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	cfg := backend.Config{Prefix: "example:", MaxAlerts: 10_000}

	local, err := bolt.Open(ctx, filepath.Join(dir, "alerts.db"), cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	drv, err := chain.New(ctx, []chain.Tier{
		{Name: "primary", Driver: memory.Open("", cfg, nil)},
		{Name: "local", Driver: local},
	}, &chain.Options{MaxAlerts: cfg.MaxAlerts})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := backend.NewStore(drv, chain.Scheme, cfg)
	defer s.Close()
	caps := s.Capabilities()
	// The memory tier is private and volatile, so the chain is neither
	// shared, persistent nor durable, whatever the bolt tier is.
	fmt.Println("watch:", caps.Watch, "shared:", caps.Shared, "persistent:", caps.Persistent, "durable:", caps.Durable)
	// Output:
	// watch: true shared: false persistent: false durable: false
}
