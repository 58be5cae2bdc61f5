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
	"github.com/spf13/cobra"
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
		p.env.warnf("the chain is degraded (first tier %s down): %d entries wait in the backlog; they move up when it answers (`alertstore replay`)", st.Tiers[0].Name, st.Backlog)
		return
	}
	budget := p.env.globals.replayBudget
	if budget <= 0 {
		p.env.warnf("the chain's backlog holds %d entries; --replay-budget 0: not replayed (`alertstore replay`)", st.Backlog)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, budget)
	defer cancel()
	moved := 0
	err := c.Replay(ctx, func(rp chain.ReplayProgress) { moved = rp.Moved })
	if moved > 0 {
		p.env.notef("replayed %d entries of the chain's backlog into tier 1 (%s)", moved, st.Tiers[0].Name)
	}
	if err != nil {
		p.env.warnf("the chain's backlog still holds %d entries (%s); run `alertstore replay` or raise --replay-budget", c.Status().Backlog, message(trimBacklogErr(err)))
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
		n.env.warnf("the chain's first tier (%s) is down: stored in %s; backlog now %d entries, replayed when it answers", st.Tiers[0].Name, active, st.Backlog)
		return
	}
	n.env.warnf("read a degraded chain: the first tier (%s) is down; the result comes from the tiers that answer (active: %s, backlog %d)", st.Tiers[0].Name, active, st.Backlog)
}

func newReplayCmd(env *cliEnv) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "drain a chain's backlog into its first tier now, with progress (exit 7: backlog left)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdReplay(cmd.Context(), env, timeout) },
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "stop after this long, with what is left said and exit 7")
	return cmd
}

// cmdReplay drains a chain's backlog now, with progress on stderr.
func cmdReplay(ctx context.Context, env *cliEnv, timeout time.Duration) (err error) {
	if timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	env.replaysItself = true
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	c, ok := chain.ReplayerOf(s)
	if !ok {
		return usagef("replay needs a chain:// DSN (%s has no backlog)", s.Backend())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st0 := c.Status()
	env.notef("backlog %d entries", st0.Backlog)
	err = c.Replay(ctx, func(p chain.ReplayProgress) {
		if p.From != "" && p.Moved > 0 {
			env.notef("%s -> %s: moved %d, backlog %d", p.From, p.To, p.Moved, p.Backlog)
		}
	})
	// The chain's own background replay, started at open, may have
	// moved some or all of it: the total is what Status counted.
	env.notef("moved %d in all", c.Status().Replayed)
	if err != nil {
		return fmt.Errorf("%w (%w)", errBacklogLeft, trimBacklogErr(err))
	}
	env.notef("done, backlog empty")
	return nil
}

var errBacklogLeft = errors.New("backlog left")
