package chain

import "github.com/apt-detection/alertstore/backend"

// HoldReplay stops (true) or resumes (false) a chain's replay, so tests can
// observe reads merged over a backlog.
func HoldReplay(d backend.Driver, hold bool) {
	c, ok := d.(*Chain)
	if !ok {
		c = d.(*droppingChain).Chain
	}
	c.replayHeld.Store(hold)
	if !hold {
		c.wake()
	}
}
