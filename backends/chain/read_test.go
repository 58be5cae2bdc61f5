package chain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// Reads over a backlog merge the tiers newest-first by id time,
// de-duplicated by id; cursor paging visits each alert once, even when the
// chain switches from merged reads to the primary alone in the middle.
func TestMergedReadsAndCursorsAcrossRecovery(t *testing.T) {
	ctx := context.Background()
	cfg := backend.Config{Prefix: "m:", MaxAlerts: 1000}
	path := filepath.Join(t.TempDir(), "lower.db")
	primary := memory.Open("", cfg, nil)
	lower, err := bolt.Open(ctx, path, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Interleave in time: odd alerts went to the primary, even ones to
	// bolt (as with a flapping primary), and one alert is in both.
	var want []string // oldest first
	for i := 0; i < 20; i++ {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("a%02d", i))
		_ = a.SetTime(time.Now())
		if err := a.SetID(mustID(t)); err != nil {
			t.Fatal(err)
		}
		b, _ := a.MarshalJSON()
		d := lower
		if i%2 == 1 {
			d = primary
		}
		if err := d.Append(ctx, [][]byte{b}); err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			if err := lower.Append(ctx, [][]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		want = append([]string{a.Entity()}, want...)
	}
	d, err := chain.NewHeld(ctx, []chain.Tier{{Name: "primary", Driver: primary}, {Name: "bolt", Driver: lower}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := backend.NewStore(d, chain.Scheme, cfg)
	defer s.Close()

	p, err := s.List(ctx, backend.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := entities(p.Alerts); !equal(got, want) {
		t.Fatalf("merged list %v,\nwant %v", got, want)
	}
	if n, _ := s.Count(ctx); n != 21 {
		t.Fatalf("Count while merged = %d, want 21 (10 + 11 entries)", n)
	}
	// Page while merged, with writes in between (they go to the primary
	// and are newer: they must not appear in later pages).
	var got []string
	q := backend.Query{Limit: 4}
	for page := 0; ; page++ {
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entities(p.Alerts)...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("late%d", page))
		if err := s.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
		if page == 1 {
			// Replay the backlog: from the next page on, the chain
			// reads the primary alone, with the merged cursor
			// translated.
			chain.HoldReplay(d, false)
			waitFor(t, 5*time.Second, "replay", func() bool { n, _ := lower.Count(ctx); return n == 0 })
		}
	}
	if !equal(got, want) {
		t.Fatalf("paged %v,\nwant %v", got, want)
	}
}

// Merged reads keep the cap: only the newest max_alerts of the union.
func TestMergedReadsWithinCap(t *testing.T) {
	ctx := context.Background()
	cfg := backend.Config{Prefix: "c:", MaxAlerts: 5}
	primary := memory.Open("", cfg, nil)
	lower := memory.Open("", cfg, nil)
	var want []string
	for i := 0; i < 8; i++ {
		a := backend.NewAlert()
		_ = a.SetEntity(fmt.Sprintf("c%d", i))
		_ = a.SetTime(time.Now())
		_ = a.SetID(mustID(t))
		b, _ := a.MarshalJSON()
		d := primary
		if i >= 4 {
			d = lower
		}
		if err := d.Append(ctx, [][]byte{b}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{a.Entity()}, want...)
	}
	d, err := chain.NewHeld(ctx, []chain.Tier{{Driver: primary}, {Driver: lower}}, fastOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := backend.NewStore(d, chain.Scheme, cfg)
	defer s.Close()
	p, err := s.List(ctx, backend.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := entities(p.Alerts); !equal(got, want[:5]) {
		t.Fatalf("merged list %v, want the newest 5 %v", got, want[:5])
	}
}

// While the primary is down, reads come from bolt alone, and two
// namespaces stay apart.
func TestDegradedIsolation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lower.db")
	open := func(prefix string) *backend.Store {
		cfg := backend.Config{Prefix: prefix, MaxAlerts: 100}
		b, err := bolt.Open(ctx, path, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := chain.New(ctx, []chain.Tier{{Driver: newFlaky(memory.Open("", cfg, nil), redisLike, down)}, {Driver: b}}, fastOptions(cfg))
		if err != nil {
			t.Fatal(err)
		}
		s := backend.NewStore(d, chain.Scheme, cfg)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open("a:"), open("b:")
	for _, c := range []struct {
		s *backend.Store
		e string
	}{{a, "in-a"}, {b, "in-b"}} {
		x := backend.NewAlert()
		_ = x.SetEntity(c.e)
		if err := c.s.Store(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	p, err := a.List(ctx, backend.Query{})
	if err != nil || !equal(entities(p.Alerts), []string{"in-a"}) {
		t.Fatalf("namespace a lists %v, %v", entities(p.Alerts), err)
	}
}

func entities(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Entity()
	}
	return out
}

func mustID(t *testing.T) string {
	id, err := backend.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
