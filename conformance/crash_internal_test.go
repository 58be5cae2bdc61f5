package conformance

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
)

// fileBacked keeps its entries in memory and in a file of JSON lines,
// appended to before Append returns (writeThrough), or only on Close (the
// broken way: acknowledged alerts live only in the process).
type fileBacked struct {
	backend.Driver
	path         string
	writeThrough bool

	mu      sync.Mutex
	pending [][]byte
}

const fileBackedMax = 1_000_000

func openFileBacked(ctx context.Context, dir string, writeThrough bool) (*backend.Store, error) {
	cfg := backend.Config{MaxAlerts: fileBackedMax}
	d := &fileBacked{Driver: memory.Open("", cfg, nil), path: filepath.Join(dir, "alerts.jsonl"), writeThrough: writeThrough}
	data, err := os.ReadFile(d.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		if err := d.Driver.Append(ctx, lines); err != nil {
			return nil, err
		}
	}
	return backend.NewStore(d, "file-backed", cfg), nil
}

func (d *fileBacked) Append(ctx context.Context, alerts [][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.Driver.Append(ctx, alerts); err != nil {
		return err
	}
	if !d.writeThrough {
		d.pending = append(d.pending, alerts...)
		return nil
	}
	return d.write(alerts)
}

func (d *fileBacked) write(alerts [][]byte) error {
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, a := range alerts {
		buf.Write(a)
		buf.WriteByte('\n')
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (d *fileBacked) Close() error {
	d.mu.Lock()
	err := d.write(d.pending)
	d.mu.Unlock()
	return errors.Join(err, d.Driver.Close())
}

// The crash check fails a backend that acknowledges alerts before they
// leave the process, and passes the same backend when it writes through.
func TestCrashTestCatchesLostAcks(t *testing.T) {
	for _, c := range []struct {
		name         string
		writeThrough bool
		wantErr      bool
	}{
		{"acks-before-writing", false, true},
		{"writes-through", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct := CrashTest{KillAfter: 200, Open: func(ctx context.Context, dir string) (*backend.Store, error) {
				return openFileBacked(ctx, dir, c.writeThrough)
			}}
			res, err := ct.run(t)
			t.Logf("%s: %v", res, err)
			if c.wantErr && err == nil {
				t.Fatalf("the crash check passed a backend that loses acknowledged alerts: %s", res)
			}
			if !c.wantErr && err != nil {
				t.Fatalf("the crash check failed a backend that keeps them: %v", err)
			}
		})
	}
}
