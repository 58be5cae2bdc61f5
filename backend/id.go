package backend

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The ids a Store gives alerts, and NewID's: UUIDv7 (RFC 9562) laid out
// as github.com/google/uuid's NewV7 lays them out, 48 bits of Unix
// milliseconds, then 12 bits of the sub-millisecond time (nanoseconds
// / 256) as a sequence, then 62 random bits, so that ids sort in the
// order they were given, across batches and goroutines of the process,
// and the chain's ordering key (ms<<12 | seq, backends/chain) reads them
// as before.
//
// They are drawn a batch at a time: one clock read and one lock for a
// whole StoreBatch, one read of crypto/rand per 16 ids, where uuid.NewV7 takes the
// lock, reads the clock and reads 16 random bytes (into a heap-allocated
// array) for every id, which was a tenth of the write path's cost per
// alert in a batch of 100.
var idClock struct {
	mu sync.Mutex
	// last is ms<<12 | seq of the last id given; every new id is above it.
	last int64
}

// newIDs fills ids with fresh UUIDv7s, in increasing order.
func newIDs(ids []uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	idClock.mu.Lock()
	nano := time.Now().UnixNano()
	ms := nano / int64(time.Millisecond)
	t := ms<<12 | (nano-ms*int64(time.Millisecond))>>8
	if t <= idClock.last {
		t = idClock.last + 1
	}
	idClock.last = t + int64(len(ids)) - 1
	idClock.mu.Unlock()

	// The random bits, 16 ids per read of crypto/rand (which never
	// fails: since Go 1.24 it crashes the program rather than return an
	// error), through a buffer on the stack.
	var rnd [16 * 8]byte
	for i := range ids {
		if i%16 == 0 {
			_, _ = rand.Read(rnd[:8*min(16, len(ids)-i)])
		}
		u := &ids[i]
		v := t + int64(i)
		ms, seq := v>>12, v&0xfff
		u[0] = byte(ms >> 40)
		u[1] = byte(ms >> 32)
		u[2] = byte(ms >> 24)
		u[3] = byte(ms >> 16)
		u[4] = byte(ms >> 8)
		u[5] = byte(ms)
		u[6] = 0x70 | byte(seq>>8)&0x0f // version 7
		u[7] = byte(seq)
		r := i % 16 * 8
		copy(u[8:], rnd[r:r+8])
		u[8] = u[8]&0x3f | 0x80 // variant 10
	}
}

const hexDigits = "0123456789abcdef"

// appendUUID appends u in its canonical text form (what u.String()
// returns) without allocating.
func appendUUID(b []byte, u uuid.UUID) []byte {
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j] = hexDigits[c>>4]
		s[j+1] = hexDigits[c&0x0f]
		j += 2
	}
	return append(b, s[:]...)
}

// NewID returns a fresh time-ordered unique id (a UUIDv7), the kind a Store
// gives alerts that have none. The error is always nil; it is kept for
// callers written when the id came from uuid.NewV7.
func NewID() (string, error) {
	var id [1]uuid.UUID
	newIDs(id[:])
	return string(appendUUID(make([]byte, 0, 36), id[0])), nil
}
