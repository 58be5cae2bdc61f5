package conformance

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// NewDSNHarness returns a Harness for a backend reached by DSN through
// registry.Default (its package must be imported, so that its scheme is
// registered). For each driver it sets the shared parameters (prefix,
// max_alerts, max_alert_bytes, timeout) on dsn, replacing any dsn has, and
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
	dsn, err := registry.WithParams(h.dsn, configParams(cfg))
	if err != nil {
		return nil, err
	}
	drv, _, _, err := registry.OpenDriver(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", registry.RedactDSN(dsn), err)
	}
	return drv, nil
}

func (dsnHarness) Close() {}

// configParams returns cfg as the shared DSN parameters, for its non-zero
// fields: what registry.Open turns back into cfg.
func configParams(cfg backend.Config) map[string]string {
	p := map[string]string{}
	if cfg.Prefix != "" {
		p["prefix"] = cfg.Prefix
	}
	if cfg.MaxAlerts > 0 {
		p["max_alerts"] = strconv.Itoa(cfg.MaxAlerts)
	}
	if cfg.MaxAlertBytes > 0 {
		p["max_alert_bytes"] = strconv.Itoa(cfg.MaxAlertBytes)
	}
	if cfg.Timeout > 0 {
		p["timeout"] = cfg.Timeout.String()
	}
	return p
}
