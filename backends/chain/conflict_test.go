package chain_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
)

// An entry reusing an alert's id with other content, written into the
// primary while the alert waits in the lower tier, neither hides the alert
// in a merged read nor makes the replay drop it as "already there": both
// copies end up in the primary and are listed, flagged.
func TestSameIDConflictSurvivesReplay(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	chain.HoldReplay(r.drv, true)
	r.primary.set(down)
	real := backend.NewAlert()
	for _, err := range []error{real.SetEntity("victim"), real.SetSeverity(backend.SeverityHigh), real.SetMessage("beacon to rare domain")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := r.store.Store(ctx, real); err != nil { // to the bolt tier
		t.Fatal(err)
	}
	forged := real.Clone()
	if err := forged.SetSeverity(backend.SeverityLow); err != nil {
		t.Fatal(err)
	}
	if err := forged.SetMessage("all clear"); err != nil {
		t.Fatal(err)
	}
	raw, _ := forged.MarshalJSON()
	if err := r.inner.Append(ctx, [][]byte{raw}); err != nil { // straight into the primary
		t.Fatal(err)
	}
	r.primary.set(up)

	check := func(when string) {
		t.Helper()
		p, err := r.store.List(ctx, backend.Query{MinSeverity: backend.SeverityHigh})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != 1 || p.Alerts[0].Message() != "beacon to rare domain" || !p.Alerts[0].IDConflict() {
			t.Fatalf("%s: List --min-severity high = %d alerts (conflicts %q); want the real alert, flagged", when, len(p.Alerts), p.Conflicts)
		}
		p, err = r.store.List(ctx, backend.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != 2 || !slices.Equal(p.Conflicts, []string{real.ID()}) {
			t.Fatalf("%s: List = %d alerts, conflicts %q; want both copies and the id", when, len(p.Alerts), p.Conflicts)
		}
	}
	waitFor(t, 5*time.Second, "the primary to be back", func() bool { return r.status().Active == "primary" })
	check("merged read over the backlog")
	chain.HoldReplay(r.drv, false)
	waitFor(t, 5*time.Second, "the replay", func() bool { return len(ids(t, r.lower)) == 0 })
	if got := ids(t, r.inner); !slices.Equal(got, []string{real.ID(), real.ID()}) {
		t.Errorf("the primary holds %q after the replay; want both copies of %s", got, real.ID())
	}
	check("after the replay")
}
