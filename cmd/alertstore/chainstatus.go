package main

import (
	"github.com/apt-detection/alertstore/backends/chain"
)

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
