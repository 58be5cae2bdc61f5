package bolt_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
)

// envKillChild makes the test binary, re-executed by TestKillDuringWrites,
// the writer that gets killed: its value is the bolt file's path.
const envKillChild = "ALERTSTORE_BOLT_KILL_CHILD"

// TestKillChildWriter is the child's body; it does nothing in a normal run.
func TestKillChildWriter(t *testing.T) {
	path := os.Getenv(envKillChild)
	if path == "" {
		t.Skip("only runs as the child of TestKillDuringWrites")
	}
	mode := bolt.SyncAlways
	if os.Getenv(envKillChild+"_SYNC") == "batch" {
		mode = bolt.SyncBatch
	}
	ctx := context.Background()
	cfg := backend.Config{MaxAlerts: 1_000_000}
	d, err := bolt.Open(ctx, path, cfg, &bolt.Options{Sync: mode})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	s := backend.NewStore(d, bolt.Scheme, cfg)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				batch := []*backend.Alert{backend.NewAlert()}
				if i%5 == 4 {
					batch = append(batch, backend.NewAlert(), backend.NewAlert())
				}
				for _, a := range batch {
					_ = a.SetEntity(fmt.Sprintf("w%d-%d", w, i))
				}
				if err := s.StoreBatch(ctx, batch); err != nil {
					fmt.Println("ERR", err)
					os.Exit(2)
				}
				// Printed only after StoreBatch returned: every ACK line
				// is an alert the store acknowledged.
				mu.Lock()
				for _, a := range batch {
					fmt.Fprintf(os.Stdout, "ACK %s\n", a.ID())
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
}

// TestKillDuringWrites SIGKILLs a process in the middle of a stream of
// appends and checks, on reopening the file, that every alert it
// acknowledged is there: fsync before ack, and a torn write never
// corrupting what was committed.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, mode := range []string{"always", "batch"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChildWriter$", "-test.count=1")
			cmd.Env = append(os.Environ(), envKillChild+"="+path, envKillChild+"_SYNC="+mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[string]bool{}
			sc := bufio.NewScanner(out)
			killAt := 2000
			killed := false
			deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
			defer deadline.Stop()
			for sc.Scan() {
				line := sc.Text()
				if id, ok := strings.CutPrefix(line, "ACK "); ok {
					acked[id] = true
				} else if strings.HasPrefix(line, "ERR") {
					t.Fatalf("child: %s", line)
				}
				if !killed && len(acked) >= killAt {
					// Lines already in the pipe after the kill are
					// acknowledged too; keep reading them.
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			_ = cmd.Wait()
			if !killed {
				t.Fatalf("child ended after %d acks before it was killed", len(acked))
			}
			d := open(t, path, backend.Config{MaxAlerts: 1_000_000}, nil)
			defer d.Close()
			s := backend.NewStore(d, bolt.Scheme, backend.Config{MaxAlerts: 1_000_000})
			p, err := s.List(context.Background(), backend.Query{Limit: backend.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			present := map[string]int{}
			for _, a := range p.Alerts {
				present[a.ID()]++
			}
			lost := 0
			for id := range acked {
				if present[id] == 0 {
					lost++
				}
			}
			n, _ := d.Count(context.Background())
			t.Logf("FIGURES: sync=%s acknowledged=%d present_after_kill=%d lost=%d count=%d skipped=%d", mode, len(acked), len(p.Alerts), lost, n, p.Skipped)
			if lost > 0 {
				t.Fatalf("%d of %d acknowledged alerts are missing after SIGKILL", lost, len(acked))
			}
			if n != int64(len(p.Alerts)+p.Skipped) || p.Skipped != 0 || p.Duplicates != 0 {
				t.Fatalf("Count %d, listed %d (skipped %d, duplicates %d): meta counters disagree with the data", n, len(p.Alerts), p.Skipped, p.Duplicates)
			}
		})
	}
}
