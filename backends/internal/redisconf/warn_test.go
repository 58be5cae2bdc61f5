package redisconf_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Every parse of a DSN with tls_insecure_skip_verify=true (every open)
// logs a warning carrying the security attribute; verified TLS and plain
// TCP log none.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	for _, tt := range []struct {
		name, dsn string
		warns     bool
	}{
		{"Insecure", "rediss://:" + secret + "@cache:6380/0?tls_insecure_skip_verify=true", true},
		{"InsecureAgain", "valkeys://cache:6380/0?tls_insecure_skip_verify=true", true},
		{"Verified", "rediss://cache:6380/0", false},
		{"Plain", "redis://cache:6379/0", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			if _, err := parse(t, tt.dsn); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := strings.Contains(out, "security=tls_insecure_skip_verify") && strings.Contains(out, "level=WARN"); got != tt.warns {
				t.Errorf("warned = %t, want %t; log: %q", got, tt.warns, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the warning shows the password: %q", out)
			}
		})
	}
}
