package chain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/conformance"
)

// The crash test re-executes the test binary (conformance.CrashTest and
// conformance.Reexec) as a child that works through a chain of two bolt
// files (the first standing for Redis, the second the durable local tier)
// and is SIGKILLed mid-way.

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
	primary := backend.Driver(p)
	if primaryDown {
		primary = newFlaky(p, p.Capabilities(), down)
	}
	return chain.New(ctx, []chain.Tier{{Name: "primary", Driver: primary}, {Name: "local", Driver: l}}, &chain.Options{
		MaxAlerts: crashCfg.MaxAlerts, TierTimeout: time.Second, ProbeInterval: 10 * time.Millisecond, ProbeMax: 50 * time.Millisecond, ReplayBatch: batch,
	})
}

// replayChild replays the backlog in dir and prints its progress until the
// parent kills it.
func replayChild(dir string) {
	d, err := openCrashChain(context.Background(), dir, false, 10)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	s := backend.NewStore(d, chain.Scheme, crashCfg)
	for {
		st, _ := chain.StatusOf(s)
		fmt.Println("REPLAYED", st.Replayed)
		time.Sleep(2 * time.Millisecond)
	}
}

// A process writing through the chain while the primary is down is
// killed; another is killed in the middle of replaying that backlog; a
// third finishes the replay. Every alert the first acknowledged ends in the
// primary exactly once, and the local tier ends empty.
func TestCrashWhileDownAndMidReplay(t *testing.T) {
	if role, dir, ok := conformance.ChildRole(t); ok && role == "replay" {
		replayChild(dir) // does not return
	}
	// The writer, killed while the primary is down; CrashTest also checks
	// that the chain (still without its primary) lists every alert it
	// acknowledged.
	res := conformance.CrashTest{KillAfter: 1500, Writers: 1, Open: func(ctx context.Context, dir string) (*backend.Store, error) {
		d, err := openCrashChain(ctx, dir, true, 10)
		if err != nil {
			return nil, err
		}
		return backend.NewStore(d, chain.Scheme, crashCfg), nil
	}}.Run(t)
	dir := res.Dir
	acked := map[string]bool{}
	for _, id := range res.Acknowledged {
		acked[id] = true
	}
	var replayedAtKill uint64
	conformance.Reexec(t, "replay", dir, 0, func(l string) bool {
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
