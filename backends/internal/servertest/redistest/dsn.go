package redistest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

// DSN is scheme://addr/0 with cfg's non-zero fields as the shared
// parameters, and extra (already encoded, "k=v&k2=v2") appended.
func DSN(scheme, addr string, cfg backend.Config, extra string) string {
	q := url.Values{}
	if cfg.Prefix != "" {
		q.Set("prefix", cfg.Prefix)
	}
	if cfg.MaxAlerts > 0 {
		q.Set("max_alerts", strconv.Itoa(cfg.MaxAlerts))
	}
	if cfg.MaxAlertBytes > 0 {
		q.Set("max_alert_bytes", strconv.Itoa(cfg.MaxAlertBytes))
	}
	if cfg.Timeout > 0 {
		q.Set("timeout", cfg.Timeout.String())
	}
	s := scheme + "://" + addr + "/0"
	params := q.Encode()
	if extra != "" {
		if params != "" {
			params += "&"
		}
		params += extra
	}
	if params != "" {
		s += "?" + params
	}
	return s
}

var prefixSeq atomic.Int64

// Prefix returns a key prefix no other test of this binary (or of another
// binary run at the same time) uses, with the test's name in it for
// whoever looks at the server while debugging.
func Prefix(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return fmt.Sprintf("t%d-%d:%s:", time.Now().UnixNano()%1e9, prefixSeq.Add(1), name)
}

// Open opens a store by DSN and closes it when t ends.
func Open(t testing.TB, dsn string) *backend.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", registry.RedactDSN(dsn), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Harness returns a conformance harness that opens drivers of scheme on
// the server at addr, through the registry, with the suite's
// configuration as DSN parameters.
func Harness(scheme, addr string) conformance.HarnessMaker {
	return func(ctx context.Context, t testing.TB) (conformance.Harness, error) {
		return &harness{scheme: scheme, addr: addr}, nil
	}
}

type harness struct {
	scheme, addr string
}

func (h *harness) MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error) {
	drv, _, _, err := registry.OpenDriver(ctx, DSN(h.scheme, h.addr, cfg, ""))
	return drv, err
}

func (h *harness) Close() {}
