package memory_test

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

func Example() {
	ctx := context.Background()
	store, err := registry.Open(ctx, "mem://?max_alerts=2")
	if err != nil {
		panic(err)
	}
	defer store.Close()
	for _, raw := range []string{
		`{"entity": "host1", "severity": "Low", "timestamp": "2025-03-01T10:00:00"}`,
		`{"entity": "host2", "severity": "High", "timestamp": "2025-03-01T11:00:00"}`,
		`{"entity": "host3", "severity": "critical", "timestamp": "2025-03-01T12:00:00"}`,
	} {
		a, err := backend.ParseAlert([]byte(raw))
		if err != nil {
			panic(err)
		}
		if err := store.Store(ctx, a); err != nil {
			panic(err)
		}
	}
	page, err := store.List(ctx, backend.Query{MinSeverity: backend.SeverityHigh})
	if err != nil {
		panic(err)
	}
	for _, a := range page.Alerts {
		fmt.Println(a.Entity(), a.SeverityString(), a.Time().Format("15:04"))
	}
	// Output:
	// host3 critical 12:00
	// host2 High 11:00
}

// ExampleStore_Watch follows alerts as they are stored: subscribe first,
// then every alert stored afterwards arrives, in order.
func ExampleStore_Watch() {
	ctx := context.Background()
	store, err := registry.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer store.Close()
	w, err := store.Watch(ctx)
	if err != nil {
		panic(err) // wraps errors.ErrUnsupported without Capabilities().Watch
	}
	defer w.Close()
	for _, e := range []string{"host1", "host2"} {
		a := backend.NewAlert()
		if err := a.SetEntity(e); err != nil {
			panic(err)
		}
		if err := store.Store(ctx, a); err != nil {
			panic(err)
		}
	}
	for range 2 {
		a, err := w.Next(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(a.Entity())
	}
	// Output:
	// host1
	// host2
}
