package conformance

import (
	"context"
	"fmt"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// NewDSNHarness returns a Harness for a backend reached by DSN through
// registry.Default (its package must be imported, so that its scheme is
// registered). For each driver it sets the shared parameters (prefix,
// max_alerts, max_alert_bytes, timeout, client_name) on dsn, replacing any dsn has, and
// keeps every other parameter as given. `alertstore selftest` runs the
// suite through it against any DSN.
func NewDSNHarness(dsn string) Harness { return dsnHarness{dsn: dsn} }

// DSNHarness is the HarnessMaker of a backend reached by DSN: dsn is
// called once per run of the suite (start or find a server, make a
// directory) and returns the DSN that NewDSNHarness uses. A backend whose
// DSN carries everything it needs is wired in a few lines:
//
//	conformance.RunConformanceTests(t, conformance.DSNHarness(func(ctx context.Context, t testing.TB) (string, error) {
//		return "dir://" + t.TempDir(), nil
//	}))
func DSNHarness(dsn func(ctx context.Context, t testing.TB) (string, error)) HarnessMaker {
	return func(ctx context.Context, t testing.TB) (Harness, error) {
		s, err := dsn(ctx, t)
		if err != nil {
			return nil, err
		}
		return NewDSNHarness(s), nil
	}
}

type dsnHarness struct{ dsn string }

func (h dsnHarness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	params := registry.ConfigParams(cfg)
	if cfg.MaxAlertsDefault {
		params["max_alerts"] = nil // the DSN's own max_alerts must not make it explicit
	}
	dsn, err := registry.WithParams(h.dsn, params)
	if err != nil {
		return nil, err
	}
	drv, err := registry.OpenDriver(ctx, dsn)
	if err != nil {
		// It did not open: its parameters may hold a misspelled secret.
		return nil, fmt.Errorf("opening %s: %w", registry.DSNOrigin(dsn), err)
	}
	return drv, nil
}

func (dsnHarness) Close() {}
