package chain

import (
	"context"

	"github.com/apt-detection/alertstore/backend"
)

// NewHeld is New with the replay held from the start (HoldReplay right
// after New races with the first replay).
func NewHeld(ctx context.Context, tiers []Tier, opts *Options) (backend.Driver, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.holdReplay = true
	return New(ctx, tiers, &o)
}

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
