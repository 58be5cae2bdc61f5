package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/registry"
)

// Open a store in a file by DSN, store an alert, and read it back after
// reopening: what was acknowledged is on disk.
func Example() {
	dir, _ := os.MkdirTemp("", "alertstore-example")
	defer os.RemoveAll(dir)
	dsn := "bolt://" + filepath.Join(dir, "alerts.db") + "?max_alerts=10000"
	ctx := context.Background()

	s, err := registry.Open(ctx, dsn)
	if err != nil {
		fmt.Println(err)
		return
	}
	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	_ = a.SetSeverity(backend.SeverityHigh)
	if err := s.Store(ctx, a); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("durable:", s.Capabilities().Durable)
	_ = s.Close()

	s, _ = registry.Open(ctx, dsn)
	defer s.Close()
	p, _ := s.List(ctx, backend.Query{})
	fmt.Println(len(p.Alerts), p.Alerts[0].Entity(), p.Alerts[0].SeverityString())
	// Output:
	// durable: true
	// 1 host1 High
}
