package all_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	_ "github.com/apt-detection/alertstore/backends/all"
	"github.com/apt-detection/alertstore/registry"
)

// The Redis backends log to the logger of the ctx they were opened with
// (registry.WithLogger), not to slog.Default: each scheme's security
// warning for tls_insecure_skip_verify reaches it. Opening does not
// connect, so no server is needed.
func TestRedisBackendsLogToCtxLogger(t *testing.T) {
	var def bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	for _, dsn := range []string{
		"rediss://h:6380/0?tls_insecure_skip_verify=true",
		"valkeys://h:6380/0?tls_insecure_skip_verify=true",
		"redis+sentinel://s1:26379/m/0?tls=true&tls_insecure_skip_verify=true",
		"valkey+sentinel://s1:26379/m/0?tls=true&tls_insecure_skip_verify=true",
	} {
		t.Run(strings.SplitN(dsn, ":", 2)[0], func(t *testing.T) {
			var mine bytes.Buffer
			def.Reset()
			ctx := registry.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&mine, nil)))
			// A sentinel scheme asks its sentinels at open, and there are
			// none: the open fails after the DSN was parsed and warned of.
			s, err := registry.Open(ctx, dsn)
			if err == nil {
				_ = s.Close()
			} else if !strings.Contains(dsn, "+sentinel") {
				t.Fatalf("open: %v", err)
			}
			if !strings.Contains(mine.String(), "tls_insecure_skip_verify=true") || !strings.Contains(mine.String(), "security=tls_insecure_skip_verify") {
				t.Fatalf("the ctx's logger got %q; want the insecure-TLS warning", mine.String())
			}
			if def.Len() != 0 {
				t.Fatalf("slog.Default got %q", def.String())
			}
		})
	}
}
