package dirstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"

	dirstore "example.com/alertstore-dirstore"
)

// TestKillDuringWrites is the crash check (conformance.CrashTest): a
// process SIGKILLed in the middle of a stream of appends loses no alert
// it acknowledged, and no entry is a torn file: a killed process leaves
// all of an Append or none of it. fsync makes no difference to a process
// crash (the page cache survives it), so both settings must pass.
func TestKillDuringWrites(t *testing.T) {
	for _, c := range []struct {
		name   string
		noSync bool
	}{{"fsync", false}, {"nosync", true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := backend.Config{Prefix: "kill", MaxAlerts: 1_000_000}
			leftovers := 0
			res := conformance.CrashTest{
				KillAfter: 300,
				Open: func(ctx context.Context, dir string) (*backend.Store, error) {
					d, err := dirstore.Open(ctx, dir, cfg, &dirstore.Options{NoSync: c.noSync})
					if err != nil {
						return nil, err
					}
					return backend.NewStore(d, dirstore.Scheme, cfg), nil
				},
				// What the kill interrupted, before anything cleans it
				// up: files of an Append that never reached its commit.
				AfterKill: func(t *testing.T, dir string) {
					seqb, _ := os.ReadFile(filepath.Join(dir, "kill", "seq"))
					seq, _ := strconv.ParseInt(strings.TrimSpace(string(seqb)), 10, 64)
					for _, name := range readDir(t, filepath.Join(dir, "kill")) {
						pos, err := strconv.ParseInt(strings.TrimSuffix(name, ".json"), 10, 64)
						if strings.HasPrefix(name, ".tmp-") || err == nil && pos >= seq {
							leftovers++
						}
					}
				},
			}.Run(t)
			t.Logf("FIGURES: %s %s uncommitted_files_left=%d", c.name, res, leftovers)
		})
	}
}
