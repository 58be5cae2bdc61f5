package backend_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
)

// The targets of issue 10 item 2: the portable write path and read path
// per alert each cost at most 1.5x one json.Valid pass over the same
// bytes. Each benchmark runs its path and json.Valid side by side, over
// the project's sample alerts (conformance.LegacyAlerts, ~500 B), so that
// the ratio comes out of one run:
//
//	go test -run XXX -bench 'WritePath|ReadPath' -count 3 ./backend/
//
// ns/op is per alert in every sub-benchmark. On a shared machine the load
// changes between sub-benchmarks, so each path's sub-benchmark also runs
// json.Valid over the same alerts in blocks of 64 between its own blocks,
// off the clock, and reports its time over json.Valid's as x-json.Valid:
// the ratio of the target, taken under the same load.

// BenchmarkWritePath: parse and validate the detector's bytes, give the
// alert an id and a timestamp, and produce the bytes a driver appends
// (what Store.Store does before the driver), against json.Valid over the
// detector's bytes.
func BenchmarkWritePath(b *testing.B) {
	in := conformance.LegacyAlerts()
	s := backend.NewStore(nil, "bench", backend.Config{})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(avgLen(in))
		for i := 0; b.Loop(); i++ {
			if !json.Valid(in[i%len(in)]) {
				b.Fatal("invalid sample")
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		b.SetBytes(avgLen(in))
		b.ReportAllocs()
		batch := make([]*backend.Alert, 1)
		interleaved(b, in, func(i int) {
			a, err := backend.ParseAlert(in[i%len(in)])
			if err != nil {
				b.Fatal(err)
			}
			batch[0] = a
			if _, err := backend.EncodeForStore(s, batch); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkReadPath: decode a stored entry, check it, de-duplicate it by
// id and content, and filter it (List's work per entry examined), against
// json.Valid over the stored bytes. Filters: none ("newest"), and
// severity at least High and an entity ("filtered").
func BenchmarkReadPath(b *testing.B) {
	stored := storedSamples(b)
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(avgLen(stored))
		for i := 0; b.Loop(); i++ {
			if !json.Valid(stored[i%len(stored)]) {
				b.Fatal("invalid sample")
			}
		}
	})
	for _, c := range []struct {
		name string
		q    backend.Query
	}{
		{"newest", backend.Query{}},
		{"filtered", backend.Query{MinSeverity: backend.SeverityHigh, Entity: "host1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(avgLen(stored))
			b.ReportAllocs()
			r := backend.NewEntryReader(backend.DefaultMaxAlertBytes)
			interleaved(b, stored, func(i int) {
				if i%len(stored) == 0 {
					// A List examines at most its cap of entries; a
					// fresh reader keeps its id map at that size.
					r = backend.NewEntryReader(backend.DefaultMaxAlertBytes)
				}
				// Distinct ids, as in a real store.
				e := backend.Entry{Pos: int64(i + 1), Data: stored[i%len(stored)]}
				backend.ReadEntry(r, e, &c.q)
			})
		})
	}
}

// storedSamples are the sample alerts as a Store writes them: compact,
// with an id and a timestamp. 1000 of them, each with its own id.
func storedSamples(b *testing.B) [][]byte {
	s := backend.NewStore(nil, "bench", backend.Config{})
	in := conformance.LegacyAlerts()
	out := make([][]byte, 1000)
	for i := range out {
		a, err := backend.ParseAlert(in[i%len(in)])
		if err != nil {
			b.Fatal(err)
		}
		enc, err := backend.EncodeForStore(s, []*backend.Alert{a})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = enc[0]
	}
	return out
}

// interleaved runs op(i) for i in [0, b.N) on the clock, and json.Valid
// over the same inputs off the clock, in alternating blocks of 64, then
// reports op's time per alert over json.Valid's (x-json.Valid).
func interleaved(b *testing.B, in [][]byte, op func(i int)) {
	const block = 64
	var valid time.Duration
	for i := 0; i < b.N; {
		n := min(block, b.N-i)
		b.StopTimer()
		start := time.Now()
		for j := i; j < i+n; j++ {
			if !json.Valid(in[j%len(in)]) {
				b.Fatal("invalid sample")
			}
		}
		valid += time.Since(start)
		b.StartTimer()
		for j := i; j < i+n; j++ {
			op(j)
		}
		i += n
	}
	if valid > 0 {
		b.ReportMetric(float64(b.Elapsed())/float64(valid), "x-json.Valid")
	}
}

func avgLen(data [][]byte) int64 {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	return int64(n / len(data))
}
