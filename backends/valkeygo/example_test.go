package valkeygo_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/valkeygo" // registers valkey://, valkeys://
	"github.com/apt-detection/alertstore/registry"
)

// Store and list alerts on a Valkey server, in the keys the old system
// used. Open only parses the DSN; the first call connects.
func Example() {
	ctx := context.Background()
	store, err := registry.Open(ctx, "valkey://localhost:6379/0?prefix=apt_detection:&max_alerts=1000&timeout=2s")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	_ = a.SetSeverity(backend.SeverityHigh)
	err = store.Store(ctx, a)
	if errors.Is(err, backend.ErrUnavailable) {
		// Not acknowledged: maybe stored, maybe not. Retrying the same
		// alert is safe: it keeps its id, and List shows it once.
		err = store.Store(ctx, a)
	}
	if err != nil {
		log.Fatal(err)
	}

	page, err := store.List(ctx, backend.Query{Limit: 10, MinSeverity: backend.SeverityHigh})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range page.Alerts {
		fmt.Println(a.Time(), a.Entity(), a.SeverityString())
	}
}

// DSNs are checked before anything is dialled; a misspelt parameter is an
// error naming it, and the password never shows.
func Example_strictDSN() {
	_, err := registry.Open(context.Background(), "valkey://:hunter2@localhost:6379/0?dial_timout=1s")
	fmt.Println(err)
	fmt.Println(errors.Is(err, backend.ErrInvalidConfig))
	// Output:
	// alertstore: valkey: open: invalid config: DSN valkey://:xxxxx@localhost:6379/0?dial_timout=xxxxx: unknown parameter "dial_timout" for scheme valkey
	// true
}
