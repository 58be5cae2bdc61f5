package dirstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"

	_ "example.com/alertstore-dirstore" // registers dir://
)

// Open a store by DSN, store an alert, list it back, and look at the files.
func Example() {
	dir, err := os.MkdirTemp("", "dirstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	// dir is absolute ("/tmp/..."), hence dir:/// ; a path with '%', '?',
	// '#' or spaces would need url.URL{Scheme: "dir", Path: dir}.String().
	s, err := registry.Open(ctx, "dir://"+dir+"?prefix=demo:&max_alerts=100")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	a, err := backend.ParseAlert([]byte(`{"entity": "host1", "severity": "High", "timestamp": "2025-03-01T12:34:56", "message": "SMB fan-out"}`))
	if err != nil {
		log.Fatal(err)
	}
	if err := a.SetID("example-1"); err != nil {
		log.Fatal(err)
	}
	if err := s.Store(ctx, a); err != nil {
		log.Fatal(err)
	}
	page, err := s.List(ctx, backend.Query{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range page.Alerts {
		fmt.Println(a.ID(), a.Entity(), a.SeverityString(), a.TimestampString(), a.Message())
	}

	files, _ := os.ReadDir(filepath.Join(dir, "demo:"))
	for _, f := range files {
		fmt.Println(f.Name())
	}
	c := s.Capabilities()
	fmt.Printf("watch=%t shared=%t persistent=%t durable=%t\n", c.Watch, c.Shared, c.Persistent, c.Durable)
	// Output:
	// example-1 host1 High 2025-03-01T12:34:56 SMB fan-out
	// .lock
	// 00000000000000000001.json
	// seq
	// watch=false shared=true persistent=true durable=true
}
