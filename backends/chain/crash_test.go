package chain_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
)

// The crash tests re-execute the test binary as a child that works
// through a chain of two bolt files (the first standing for Redis, the
// second the durable local tier) and is SIGKILLed mid-way.
const (
	envChild = "ALERTSTORE_CHAIN_CRASH_CHILD" // "write" or "replay"
	envDir   = "ALERTSTORE_CHAIN_CRASH_DIR"
)

var crashCfg = backend.Config{Prefix: "crash:", MaxAlerts: 100_000, Timeout: 5 * time.Second}

// openCrashChain opens chain(primary.db -> local.db); primaryDown makes the
// first tier refuse every call, as a stopped Redis does.
func openCrashChain(ctx context.Context, dir string, primaryDown bool, batch int) (backend.Driver, error) {
	p, err := bolt.Open(ctx, filepath.Join(dir, "primary.db"), crashCfg, nil)
	if err != nil {
		return nil, err
	}
	l, err := bolt.Open(ctx, filepath.Join(dir, "local.db"), crashCfg, nil)
	if err != nil {
		return nil, err
	}
	var primary backend.Driver = p
	if primaryDown {
		primary = newFlaky(p, p.Capabilities(), down)
	}
	return chain.New(ctx, []chain.Tier{{Name: "primary", Driver: primary}, {Name: "local", Driver: l}}, &chain.Options{
		MaxAlerts: crashCfg.MaxAlerts, TierTimeout: time.Second, ProbeInterval: 10 * time.Millisecond, ProbeMax: 50 * time.Millisecond, ReplayBatch: batch,
	})
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	role, dir := os.Getenv(envChild), os.Getenv(envDir)
	if role == "" {
		t.Skip("only runs as the child of the crash tests")
	}
	ctx := context.Background()
	d, err := openCrashChain(ctx, dir, role == "write", 10)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	s := backend.NewStore(d, chain.Scheme, crashCfg)
	switch role {
	case "write":
		for i := 0; ; i++ {
			a := backend.NewAlert()
			_ = a.SetEntity(fmt.Sprintf("crash-%05d", i))
			if err := s.Store(ctx, a); err != nil {
				fmt.Println("ERR", err)
				os.Exit(2)
			}
			fmt.Println("ACK", a.ID()) // only after the chain acknowledged it
		}
	case "replay":
		for {
			st, _ := chain.StatusOf(s)
			fmt.Println("REPLAYED", st.Replayed)
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// runChild re-executes the test binary as the crash child in role.
func runChild(t *testing.T, role, dir string, line func(string) (kill bool)) {
	t.Helper()
	reexec(t, "TestCrashChild", []string{envChild + "=" + role, envDir + "=" + dir}, line)
}

// reexec runs the test binary's test named test as a child with env added,
// and calls line for each line it prints; the first time line returns true
// it SIGKILLs the child, and goes on reading (and calling line on) what
// the child printed before dying.
func reexec(t *testing.T, test string, env []string, line func(string) (kill bool)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(120*time.Second, func() { _ = cmd.Process.Kill() })
	defer guard.Stop()
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ERR") {
			t.Errorf("child %s: %s", test, sc.Text())
		}
		if kill := line(sc.Text()); kill && !killed {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child %s ended before it was killed", test)
	}
}

// A process writing through the chain while the primary is down is
// killed; another is killed in the middle of replaying that backlog; a
// third finishes the replay. Every alert the first acknowledged ends in the
// primary exactly once, and the local tier ends empty.
func TestCrashWhileDownAndMidReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	runChild(t, "write", dir, func(l string) bool {
		if id, ok := strings.CutPrefix(l, "ACK "); ok {
			acked[id] = true
		}
		return len(acked) >= 1500
	})
	var replayedAtKill uint64
	runChild(t, "replay", dir, func(l string) bool {
		n, _ := strconv.ParseUint(strings.TrimPrefix(l, "REPLAYED "), 10, 64)
		replayedAtKill = max(replayedAtKill, n)
		return n >= 300
	})
	ctx := context.Background()
	d, err := openCrashChain(ctx, dir, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s := backend.NewStore(d, chain.Scheme, crashCfg)
	waitFor(t, 30*time.Second, "the backlog to drain", func() bool { st, _ := chain.StatusOf(s); return st.Backlog == 0 && !st.Replaying })
	drained := time.Since(start)
	st, _ := chain.StatusOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := bolt.Open(ctx, filepath.Join(dir, "primary.db"), crashCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := bolt.Open(ctx, filepath.Join(dir, "local.db"), crashCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	count := map[string]int{}
	all := ids(t, p)
	for _, id := range all {
		count[id]++
	}
	lost, dup := 0, 0
	for id := range acked {
		if count[id] == 0 {
			lost++
		}
	}
	for _, n := range count {
		if n > 1 {
			dup += n - 1
		}
	}
	left, _ := l.Count(ctx)
	t.Logf("FIGURES: crash(in-process tiers) acknowledged=%d in_primary=%d present_once=%d lost=%d duplicated=%d left_in_local=%d replayed_before_kill=%d deduplicated_after_restart=%d recovery_to_empty_backlog=%s",
		len(acked), len(all), len(acked)-lost, lost, dup, left, replayedAtKill, st.Deduplicated, drained.Round(time.Millisecond))
	if lost > 0 || dup > 0 || left != 0 {
		t.Fatalf("%d lost, %d doubled, %d left in the local tier", lost, dup, left)
	}
}
