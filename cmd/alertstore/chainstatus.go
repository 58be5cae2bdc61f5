package main

import (
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
)

// printChainStatus prints a chain's tiers, degradation and replay progress;
// other backends have none and print nothing.
func printChainStatus(env *cliEnv, s *backend.Store) {
	st, ok := chain.StatusOf(s)
	if !ok {
		return
	}
	w := env.stdout
	active := st.Active
	if active == "" {
		active = "(none: every tier is down)"
	}
	fmt.Fprintf(w, "active tier:  %s\n", active)
	if st.DegradedSince.IsZero() {
		fmt.Fprintf(w, "degraded:     no\n")
	} else {
		fmt.Fprintf(w, "degraded:     since %s (%s)\n", st.DegradedSince.UTC().Format(time.RFC3339), time.Since(st.DegradedSince).Round(time.Second))
	}
	fmt.Fprintf(w, "backlog:      %d entries waiting for replay (replaying: %t)\n", st.Backlog, st.Replaying)
	fmt.Fprintf(w, "counters:     fallbacks=%d replayed=%d deduplicated=%d dropped_for_cap=%d\n", st.Fallbacks, st.Replayed, st.Deduplicated, st.DroppedForCap)
	for i, t := range st.Tiers {
		state := "healthy"
		switch {
		case !t.Opened:
			state = "not opened yet"
		case !t.Healthy:
			state = "DOWN since " + t.DownSince.UTC().Format(time.RFC3339)
		}
		lossy := ""
		if t.Lossy {
			lossy = " [lossy: held in this process's memory, gone if it dies]"
		}
		fmt.Fprintf(w, "tier %d:       %s %s: %s, max_alerts %d, backlog %d, probes %d%s\n", i+1, t.Name, t.DSN, state, t.MaxAlerts, t.Backlog, t.Probes, lossy)
		if t.LastError != "" {
			fmt.Fprintf(w, "              last error: %s\n", t.LastError)
		}
	}
}

// reportDrops says on stderr how many acknowledged alerts a chain's replay
// dropped while the command ran (the counter starts at zero when the
// command opens the store): a drop is never silent.
func reportDrops(env *cliEnv) {
	for _, s := range env.opened {
		if st, ok := chain.StatusOf(s); ok && st.DroppedForCap > 0 {
			env.warnf("the chain's replay dropped %d acknowledged alerts: the tier they were replayed into already held max_alerts newer ones (see docs/guarantees.md)", st.DroppedForCap)
		}
	}
}
