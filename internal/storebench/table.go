package storebench

import (
	"context"
	"fmt"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// Result is one measured cell of the table: the pair's metric for the
// store and for the baseline.
type Result struct {
	// Row names the work, as Pair.Row.
	Row string
	// Metric is Pair.Metric: "alerts/s" or "latency-us".
	Metric string
	// Store and Raw are the metric's values; Raw is 0 with no baseline.
	Store, Raw float64
	// StoreP99 and RawP99 are the calls' 99th percentile latency in
	// microseconds (alerts/s rows), 0 where not measured.
	StoreP99, RawP99 float64
	// Err is the first error an operation returned; the figures are
	// then meaningless.
	Err error
}

// Ratio is how the store compares with the baseline, above 1 when it is
// better (more alerts/s, less latency); 0 with no baseline.
func (r Result) Ratio() float64 {
	if r.Raw == 0 || r.Store == 0 {
		return 0
	}
	if r.Metric == "latency-us" {
		return r.Raw / r.Store
	}
	return r.Store / r.Raw
}

// Table runs every row of the suite on s and its baseline raw (nil: the
// store alone), as testing.Benchmark does (about a second a side), and
// returns one Result per row. s must be an empty store of its own with a
// cap of StoreSize: the rows write to it and fill it. progress, if not
// nil, is told which row starts. It stops at ctx's end.
func Table(ctx context.Context, p Payload, s *backend.Store, raw Raw, progress func(row string)) ([]Result, error) {
	r := &rows{p: p, s: s, raw: raw}
	var pairs []func() []Pair
	for _, callers := range []int{1, 16, 64} {
		pairs = append(pairs, func() []Pair { return []Pair{r.write(callers)} })
	}
	pairs = append(pairs,
		func() []Pair { return []Pair{r.batch()} },
		func() []Pair {
			if progress != nil {
				progress(fmt.Sprintf("fill: %d alerts", StoreSize))
			}
			if err := r.fill(ctx); err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return nil
			}
			return append(r.lists(), r.count())
		},
		func() []Pair {
			if pr, ok := r.watch(); ok {
				return []Pair{pr}
			}
			return nil
		},
	)
	var out []Result
	for _, next := range pairs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		ps := next()
		if err := r.firstErr(); err != nil {
			return out, err
		}
		for _, pr := range ps {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if progress != nil {
				progress(pr.Row)
			}
			res := Result{Row: pr.Row, Metric: pr.Metric}
			st := testing.Benchmark(pr.Store)
			res.Store, res.StoreP99 = st.Extra[pr.Metric], st.Extra["p99-us"]
			res.Err = r.firstErr()
			if pr.Raw != nil && res.Err == nil {
				rt := testing.Benchmark(pr.Raw)
				res.Raw, res.RawP99 = rt.Extra[pr.Metric], rt.Extra["p99-us"]
				if err := r.firstErr(); err != nil {
					res.Err = fmt.Errorf("baseline: %w", err)
				}
			}
			out = append(out, res)
		}
	}
	return out, nil
}
