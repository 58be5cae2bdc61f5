package backend_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// keeping is a driver that keeps the slices Append hands it and returns
// them from Scan, without copying, as the Driver contract allows: the
// test that neither the Store nor its alerts ever write them again.
type keeping struct {
	plain
	data [][]byte
}

func (k *keeping) Append(_ context.Context, alerts [][]byte) error {
	k.data = append(k.data, alerts...)
	return nil
}

func (k *keeping) Scan(_ context.Context, before int64, limit int) ([]backend.Entry, error) {
	end := len(k.data)
	if before > 0 {
		end = min(end, int(before)-1)
	}
	var out []backend.Entry
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, backend.Entry{Pos: int64(i + 1), Data: k.data[i]})
	}
	return out, nil
}

// snapshot copies what the driver holds.
func (k *keeping) snapshot() [][]byte {
	out := make([][]byte, len(k.data))
	for i, d := range k.data {
		out[i] = bytes.Clone(d)
	}
	return out
}

func (k *keeping) unchanged(t *testing.T, before [][]byte, step string) {
	t.Helper()
	for i := range before {
		if !bytes.Equal(k.data[i], before[i]) {
			t.Fatalf("%s changed stored entry %d: %s, was %s", step, i, k.data[i], before[i])
		}
	}
}

// TestStoredBytesAreNeverWrittenAgain: a Store hands drivers the alerts'
// own bytes, and List keeps a compact entry's bytes in the alert it
// decodes; changing, re-storing or re-identifying those alerts must leave
// what was stored alone.
func TestStoredBytesAreNeverWrittenAgain(t *testing.T) {
	ctx := context.Background()
	k := &keeping{}
	s := backend.NewStore(k, "keeping", backend.Config{})
	mustParse := func(in string) *backend.Alert {
		t.Helper()
		a, err := backend.ParseAlert([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// An alert without id and timestamp: both are appended in place,
	// in the room DecodeAlert leaves.
	a := mustParse(`{"entity": "h1", "severity": "High"}`)
	if err := s.Store(ctx, a); err != nil {
		t.Fatal(err)
	}
	before := k.snapshot()
	steps := []struct {
		name string
		do   func() error
	}{
		{"SetEntity on the stored alert", func() error { return a.SetEntity("h2") }},
		{"Delete id and store again", func() error { a.Delete(backend.FieldID); return s.Store(ctx, a) }},
		{"Delete timestamp and store again", func() error { a.Delete(backend.FieldTimestamp); return s.Store(ctx, a) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		k.unchanged(t, before, st.name)
	}

	// A foreign compact entry without an id, in a buffer with room after
	// it: a listed copy that is stored again gets an id elsewhere.
	buf := make([]byte, 0, 256)
	buf = append(buf, `{"timestamp":"2025-03-01T00:00:00","entity":"f"}`...)
	k.data = append(k.data, buf)
	before = k.snapshot()
	p, err := s.List(ctx, backend.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range p.Alerts {
		if err := s.Store(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := l.SetMessage("changed"); err != nil {
			t.Fatal(err)
		}
		if raw, ok := l.Get(backend.FieldEntity); ok {
			_ = append(raw, "xx"...) // what a careless caller might do
		}
	}
	k.unchanged(t, before, "storing and changing listed alerts")
	if got := string(buf[:cap(buf)][len(buf):][:2]); got == `,"` {
		t.Fatalf("an id was appended into the foreign entry's buffer")
	}
}

// TestSignedBytesAreNeverWrittenAgain: the signature is appended in
// place to an alert that has room; storing it again (re-signing) or
// changing it leaves what was stored alone, and both copies verify.
func TestSignedBytesAreNeverWrittenAgain(t *testing.T) {
	ctx := context.Background()
	keys, err := backend.ParseKeyring([]byte("k1 " + strings.Repeat("A", 44) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := &keeping{}
	s := backend.NewStore(k, "keeping", backend.Config{Sign: keys})
	a, err := backend.ParseAlert([]byte(`{"id":"a1","timestamp":"2025-03-01T00:00:00","entity":"h"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Stored unsigned first (by a writer without keys): its bytes, with
	// room after them, are the driver's when the signing Store signs it.
	unsigned := backend.NewStore(k, "keeping", backend.Config{})
	if err := unsigned.Store(ctx, a); err != nil {
		t.Fatal(err)
	}
	before := k.snapshot()
	for i := range 2 { // signed, then re-signed
		if err := s.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
		k.unchanged(t, before, fmt.Sprintf("signing the stored alert (%d)", i))
		before = k.snapshot()
	}
	if err := a.SetEntity("changed"); err != nil {
		t.Fatal(err)
	}
	k.unchanged(t, before, "changing the signed alert")
	p, err := s.List(ctx, backend.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Alerts) != 2 || p.Duplicates != 1 || p.Alerts[0].Verification() != backend.Verified || p.Alerts[1].Verification() != backend.Unsigned {
		t.Fatalf("listed %d alerts (%d duplicates); want the signed copy, verified, and the unsigned one (a conflict), and one identical signed copy", len(p.Alerts), p.Duplicates)
	}
}
