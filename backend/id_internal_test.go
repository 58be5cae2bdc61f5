package backend

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAppendUUIDIsString(t *testing.T) {
	us := []uuid.UUID{{}, uuid.Max}
	for range 100 {
		var u uuid.UUID
		_, _ = rand.Read(u[:])
		us = append(us, u)
	}
	for _, u := range us {
		if got := string(appendUUID([]byte("x"), u)); got != "x"+u.String() {
			t.Fatalf("appendUUID(%v) = %q", u, got)
		}
	}
}

// TestNewIDsOrderedAndUnique: ids drawn a batch at a time by concurrent
// goroutines are distinct UUIDv7s with the RFC variant, increasing within
// a batch and from one batch to the next of a goroutine, and carry the
// time they were drawn at.
func TestNewIDsOrderedAndUnique(t *testing.T) {
	const goroutines, rounds = 8, 100
	var mu sync.Mutex
	seen := make(map[uuid.UUID]bool)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev uuid.UUID
			for r := range rounds {
				ids := make([]uuid.UUID, []int{1, 3, 16, 17, 100}[(g+r)%5])
				before := time.Now().UnixMilli()
				newIDs(ids)
				mu.Lock()
				for i, u := range ids {
					if seen[u] {
						t.Errorf("id %v given twice", u)
					}
					seen[u] = true
					p, err := uuid.Parse(u.String())
					if err != nil || p.Version() != 7 || p.Variant() != uuid.RFC4122 {
						t.Errorf("id %v: version %v, variant %v, %v", u, p.Version(), p.Variant(), err)
					}
					if bytes.Compare(u[:], prev[:]) <= 0 {
						t.Errorf("id %d of batch %d, %v, is not above the one before, %v", i, r, u, prev)
					}
					// The counter may run ahead of the clock (4096 ids per
					// millisecond), never behind it.
					if ms := time.UnixMilli(int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])); ms.UnixMilli() < before {
						t.Errorf("id %v: time %v, before the call (%d)", u, ms, before)
					}
					prev = u
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestStoreBatchAllocatesPerBatch: the write path before the driver
// allocates a few objects per batch, not one per alert (ids used to be
// drawn one by one, 16 random bytes on the heap each).
func TestStoreBatchAllocatesPerBatch(t *testing.T) {
	s := NewStore(nil, "test", Config{})
	in := []byte(`{"entity": "host1", "severity": "High", "source": {"type": "kafka"}, "message": "m"}`)
	alerts := make([]*Alert, 100)
	parse := func() {
		for i := range alerts {
			a, err := ParseAlert(in)
			if err != nil {
				t.Fatal(err)
			}
			alerts[i] = a
		}
	}
	parsing := testing.AllocsPerRun(20, parse)
	total := testing.AllocsPerRun(20, func() {
		parse()
		if _, err := s.encode(alerts, 0); err != nil {
			t.Fatal(err)
		}
	})
	if got := total - parsing; got > 5 { // 2, and the race detector's
		t.Fatalf("encoding a batch of %d alerts allocates %v objects, want a few per batch", len(alerts), got)
	}
	for i := 1; i < len(alerts); i++ {
		if a, b := alerts[i-1].ID(), alerts[i].ID(); a >= b {
			t.Fatalf("ids of one batch out of order: %s then %s", a, b)
		}
	}
}
