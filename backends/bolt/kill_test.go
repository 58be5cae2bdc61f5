package bolt_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/conformance"
)

// TestKillDuringWrites is the crash check of the durable capability
// (conformance.CrashTest): a process SIGKILLed in the middle of a stream
// of appends loses no alert it acknowledged, with either sync mode (fsync
// before ack, and a torn write never corrupting what was committed).
func TestKillDuringWrites(t *testing.T) {
	for _, c := range []struct {
		name string
		sync bolt.SyncMode
	}{{"always", bolt.SyncAlways}, {"batch", bolt.SyncBatch}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := backend.Config{MaxAlerts: 1_000_000}
			res := conformance.CrashTest{KillAfter: 2000, Open: func(ctx context.Context, dir string) (*backend.Store, error) {
				d, err := bolt.Open(ctx, filepath.Join(dir, "alerts.db"), cfg, &bolt.Options{Sync: c.sync})
				if err != nil {
					return nil, err
				}
				return backend.NewStore(d, bolt.Scheme, cfg), nil
			}}.Run(t)
			t.Logf("FIGURES: sync=%s %s", c.name, res)
		})
	}
}
