package conformance_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/memory" // registers mem://
	"github.com/apt-detection/alertstore/conformance"
)

// The DSN harness runs the whole suite on a backend known only by its DSN
// (a named memory store shares data per prefix, as a server does).
func TestDSNHarness(t *testing.T) {
	conformance.RunConformanceTests(t, conformance.DSNHarness(func(context.Context, testing.TB) (string, error) {
		return "mem://dsn-harness?max_alerts=1", nil
	}))
}

// The suite's configuration replaces the DSN's own shared parameters, and
// a DSN that does not open fails without its password in the error.
func TestDSNHarnessParameters(t *testing.T) {
	ctx := context.Background()
	h := conformance.NewDSNHarness("mem://params?max_alerts=1&prefix=theirs:")
	d, err := h.MakeDriver(ctx, backend.Config{Prefix: "ours:", MaxAlerts: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Append(ctx, [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("4")}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Count(ctx); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3 (max_alerts 3 from the suite, not 1 from the DSN)", n, err)
	}
	other, err := h.MakeDriver(ctx, backend.Config{Prefix: "theirs:", MaxAlerts: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if n, err := other.Count(ctx); err != nil || n != 0 {
		t.Errorf("the DSN's own prefix holds %d entries, %v; want 0 (the suite's prefix replaces it)", n, err)
	}
	_, err = conformance.NewDSNHarness("nosuchscheme://user:hunter2@host/?x=1").MakeDriver(ctx, backend.Config{Prefix: "p:"})
	if err == nil || !errors.Is(err, backend.ErrInvalidConfig) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unknown scheme: %v; want ErrInvalidConfig without the password", err)
	}
}
