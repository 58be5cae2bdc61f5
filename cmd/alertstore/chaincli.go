package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
)

// Exit codes of a chain that is not whole (main.go has the others).
const (
	// exitDegraded: `status` found the chain's first tier down (writes
	// go to a lower tier).
	exitDegraded = 6
	// exitBacklogLeft: `replay` returned with backlog still waiting.
	exitBacklogLeft = 7
)

// envReplayBudget names the variable that sets --replay-budget's default.
const envReplayBudget = "ALERTSTORE_REPLAY_BUDGET"

// defaultReplayBudget is how long a command replays a chain's backlog
// before it exits.
const defaultReplayBudget = 3 * time.Second

var errDegraded = errors.New("the chain is degraded: its first tier does not answer")

// replayBudgetDefault is $ALERTSTORE_REPLAY_BUDGET when set, else
// defaultReplayBudget; a bad value is a usage error, reported by the
// flag package (the flag's default is the variable's text).
func replayBudgetDefault() string {
	if v := os.Getenv(envReplayBudget); v != "" {
		return v
	}
	return defaultReplayBudget.String()
}

// exitPlans maps each store a command opened (openStore) to its command,
// so that closeInto can replay the chain's backlog before closing it.
var exitPlans sync.Map // *backend.Store -> *exitPlan

type exitPlan struct {
	env *cliEnv
	ctx context.Context
}

// replayBeforeClose replays a chain's backlog within the command's replay
// budget, before the store closes: a short-lived process is gone before
// the chain's background replay would run, so without this a CLI-only
// deployment never drains. It says on stderr what it moved, and what is
// left if the budget runs out or the first tier is down.
func replayBeforeClose(s *backend.Store) {
	v, ok := exitPlans.LoadAndDelete(s)
	if !ok {
		return
	}
	p := v.(*exitPlan)
	c, ok := chain.ReplayerOf(s)
	if !ok || p.env.replaysItself {
		return
	}
	st := c.Status()
	if st.Backlog == 0 && !p.env.degradedSeen {
		return
	}
	if len(st.Tiers) == 0 || st.Active != st.Tiers[0].Name {
		fmt.Fprintf(p.env.stderr, "alertstore: warning: the chain is degraded (first tier %s down): %d entries wait in the backlog; they move up when it answers (`alertstore replay`)\n", st.Tiers[0].Name, st.Backlog)
		return
	}
	budget := p.env.replayBudget
	if budget <= 0 {
		fmt.Fprintf(p.env.stderr, "alertstore: warning: the chain's backlog holds %d entries; --replay-budget 0: not replayed (`alertstore replay`)\n", st.Backlog)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, budget)
	defer cancel()
	moved := 0
	err := c.Replay(ctx, func(rp chain.ReplayProgress) { moved = rp.Moved })
	if moved > 0 {
		fmt.Fprintf(p.env.stderr, "alertstore: replayed %d entries of the chain's backlog into tier 1 (%s)\n", moved, st.Tiers[0].Name)
	}
	if err != nil {
		fmt.Fprintf(p.env.stderr, "alertstore: warning: the chain's backlog still holds %d entries (%v); run `alertstore replay` or raise --replay-budget\n", c.Status().Backlog, trimBacklogErr(err))
	}
}

// trimBacklogErr keeps what follows the count in Replay's error.
func trimBacklogErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("replay budget ran out")
	}
	return err
}

// chainNotices is the Observer the command sets on each store it opens:
// after a write that fell back, and a read of a degraded chain, it says
// so on stderr, once per command and kind.
type chainNotices struct {
	env  *cliEnv
	s    *backend.Store
	once sync.Map // kind -> true
}

func (n *chainNotices) OnOp(e backend.OpEvent) {
	if e.Err != nil || (e.Op != "store" && e.Op != "list" && e.Op != "count") {
		return
	}
	st, ok := chain.StatusOf(n.s)
	if !ok || len(st.Tiers) == 0 || st.Active == st.Tiers[0].Name {
		return
	}
	n.env.degradedSeen = true
	kind := "read"
	if e.Op == "store" {
		kind = "store"
	}
	if _, dup := n.once.LoadOrStore(kind, true); dup {
		return
	}
	active := st.Active
	if active == "" {
		active = "(none)"
	}
	if kind == "store" {
		fmt.Fprintf(n.env.stderr, "alertstore: warning: the chain's first tier (%s) is down: stored in %s; backlog now %d entries, replayed when it answers\n", st.Tiers[0].Name, active, st.Backlog)
		return
	}
	fmt.Fprintf(n.env.stderr, "alertstore: warning: read a degraded chain: the first tier (%s) is down; the result comes from the tiers that answer (active: %s, backlog %d)\n", st.Tiers[0].Name, active, st.Backlog)
}

// cmdReplay drains a chain's backlog now, with progress on stderr.
func cmdReplay(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "replay", "[--dsn DSN] [--timeout D]")
	timeout := fs.Duration("timeout", time.Minute, "stop after this long, with what is left said and exit 7")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	env.replaysItself = true
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	c, ok := chain.ReplayerOf(s)
	if !ok {
		return usagef("replay needs a chain:// DSN (%s has no backlog)", s.Backend())
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st0 := c.Status()
	fmt.Fprintf(env.stderr, "alertstore replay: backlog %d entries\n", st0.Backlog)
	err = c.Replay(ctx, func(p chain.ReplayProgress) {
		if p.From != "" && p.Moved > 0 {
			fmt.Fprintf(env.stderr, "alertstore replay: %s -> %s: moved %d, backlog %d\n", p.From, p.To, p.Moved, p.Backlog)
		}
	})
	// The chain's own background replay, started at open, may have
	// moved some or all of it: the total is what Status counted.
	fmt.Fprintf(env.stderr, "alertstore replay: moved %d in all\n", c.Status().Replayed)
	if err != nil {
		return fmt.Errorf("%w (%w)", errBacklogLeft, trimBacklogErr(err))
	}
	fmt.Fprintf(env.stderr, "alertstore replay: done, backlog empty\n")
	return nil
}

var errBacklogLeft = errors.New("backlog left")
