//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dirstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"

	dirstore "example.com/alertstore-dirstore"
)

// envKillChild makes the test binary, re-executed by TestKillDuringWrites,
// the writer that gets killed: its value is the store's directory.
const envKillChild = "DIRSTORE_TEST_KILL_CHILD"

// TestKillChildWriter is the child's body; it does nothing in a normal run.
func TestKillChildWriter(t *testing.T) {
	dir := os.Getenv(envKillChild)
	if dir == "" {
		t.Skip("only runs as the child of TestKillDuringWrites")
	}
	ctx := context.Background()
	cfg := backend.Config{Prefix: "kill", MaxAlerts: 1_000_000}
	d, err := dirstore.Open(ctx, dir, cfg, &dirstore.Options{NoSync: os.Getenv(envKillChild+"_NOSYNC") != ""})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	s := backend.NewStore(d, dirstore.Scheme, cfg)
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
// appends and checks, on reopening, that every alert it acknowledged is
// there and that no entry is a torn file: a killed process leaves all of
// an Append or none of it. fsync makes no difference to a process crash
// (the page cache survives it), so both settings must pass.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, mode := range []string{"fsync", "nosync"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillChildWriter$", "-test.count=1")
			cmd.Env = append(os.Environ(), envKillChild+"="+dir)
			if mode == "nosync" {
				cmd.Env = append(cmd.Env, envKillChild+"_NOSYNC=1")
			}
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
			const killAt = 300
			killed := false
			deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
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
			// What the kill interrupted, before anything cleans it up:
			// files of an Append that never reached its commit.
			leftovers := 0
			seqb, _ := os.ReadFile(filepath.Join(dir, "kill", "seq"))
			seq, _ := strconv.ParseInt(strings.TrimSpace(string(seqb)), 10, 64)
			for _, name := range readDir(t, filepath.Join(dir, "kill")) {
				pos, err := strconv.ParseInt(strings.TrimSuffix(name, ".json"), 10, 64)
				if strings.HasPrefix(name, ".tmp-") || err == nil && pos >= seq {
					leftovers++
				}
			}
			cfg := backend.Config{Prefix: "kill", MaxAlerts: 1_000_000}
			d := openDriver(t, dir, cfg)
			s := backend.NewStore(d, dirstore.Scheme, cfg)
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
			t.Logf("FIGURES: %s acknowledged=%d present_after_kill=%d lost=%d count=%d skipped=%d uncommitted_files_left=%d", mode, len(acked), len(p.Alerts), lost, n, p.Skipped, leftovers)
			if lost > 0 {
				t.Fatalf("%d of %d acknowledged alerts are missing after SIGKILL", lost, len(acked))
			}
			if n != int64(len(p.Alerts)) || p.Skipped != 0 || p.Duplicates != 0 {
				t.Fatalf("Count %d, listed %d (skipped %d, duplicates %d): a torn or half-committed write is visible", n, len(p.Alerts), p.Skipped, p.Duplicates)
			}
		})
	}
}
