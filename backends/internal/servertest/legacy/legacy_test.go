// Package legacy_test proves that alerts written through alertstore into
// Redis and Valkey show up on the old Flask dashboard: it writes them every
// way alertstore writes them (the command built from cmd/alertstore, the
// library), reads the list with LRANGE 0 -1 as the dashboard did, and runs
// the dashboard's counting, filtering, time comparison and pandas timeline
// in Python 3 (internal/dashboardcompat). Without python3 it fails.
package legacy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backends/goredis"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/backends/valkeygo"
	"github.com/apt-detection/alertstore/conformance/containers"
	"github.com/apt-detection/alertstore/internal/dashboardcompat"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// buildCLI builds the alertstore command once for the test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "alertstore")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/apt-detection/alertstore/cmd/alertstore").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/alertstore: %v\n%s", err, out)
	}
	return bin
}

func TestOldDashboardReadsWhatWeWrite(t *testing.T) {
	containers.SkipShort(t)
	py, err := dashboardcompat.Python()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildCLI(t)
	for _, spec := range containers.Matrix() {
		for _, scheme := range []string{goredis.Scheme, valkeygo.Scheme} {
			t.Run(spec.Name+"/"+scheme, func(t *testing.T) {
				srv := redistest.Shared(t, spec)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				prefix := redistest.Prefix(t)
				dsn := scheme + "://" + srv.Addr() + "/0?prefix=" + prefix
				ways, err := dashboardcompat.Ways(time.Now())
				if err != nil {
					t.Fatal(err)
				}
				s := redistest.Open(t, dsn)
				for _, w := range ways {
					if w.Alert != nil {
						if err := s.Store(ctx, w.Alert); err != nil {
							t.Fatalf("%s: %v", w.Name, err)
						}
						continue
					}
					cmd := exec.CommandContext(ctx, bin, w.CommandLine(dsn)...)
					cmd.Stdin = strings.NewReader(w.Stdin)
					cmd.Env = append(os.Environ(), "NO_COLOR=1")
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s: alertstore %v: %v\n%s", w.Name, w.Args, err, out)
					}
				}
				// The dashboard's read: LRANGE <prefix>alerts 0 -1, one JSON per entry.
				reply, err := srv.Do(ctx, "LRANGE", redislist.NewKeys(prefix).List, "0", "-1")
				if err != nil {
					t.Fatal(err)
				}
				entries, _ := reply.([]any)
				var nd bytes.Buffer
				for _, e := range entries {
					str, ok := e.(string)
					if !ok {
						t.Fatalf("LRANGE entry %T %v", e, e)
					}
					nd.WriteString(str)
					nd.WriteByte('\n')
				}
				r, err := dashboardcompat.Run(ctx, py, t.TempDir(), nd.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				t.Log(r.Summary())
				if probs := dashboardcompat.Problems(r, dashboardcompat.Wants(ways)); len(probs) > 0 {
					t.Fatalf("the old dashboard does not show what alertstore wrote (%s):\n%s\nLRANGE:\n%s", r.Summary(), strings.Join(probs, "\n"), nd.String())
				}
			})
		}
	}
}
