package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/storebench"
	"github.com/apt-detection/alertstore/internal/storebench/baseline"
	"github.com/apt-detection/alertstore/registry"
)

// benchPrefix starts every scratch namespace of `alertstore bench`; a
// random part follows, so that two runs never share one.
const benchPrefix = "alertstore-bench:"

func newBenchCmd(env *cliEnv) *cobra.Command {
	var benchtime string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "measure the DSN's deployment with the benchmark suite, store against a raw client, in a scratch namespace",
		Long: `bench runs the rows of the benchmark suite (docs/performance.md) against
the DSN: writes with 1, 16 and 64 callers, batches of 100, lists of the
newest 100 unfiltered (against LRANGE with and without decoding) and
Critical only over 10,000 alerts, count, and watch latency. Where a raw baseline applies (the same commands by hand on
the store's own go-redis or valkey-go client; a bbolt file for bolt; a
slice for memory) it runs it too and prints the ratio.

It works in a scratch namespace of its own (prefix alertstore-bench:...),
refuses one that holds anything or a DSN with a tier that keeps its own
prefix, and removes what it wrote afterwards. Progress goes to stderr.`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmdBench(cmd.Context(), env, benchtime) },
	}
	cmd.Flags().StringVar(&benchtime, "benchtime", "1s", "how long each side of each row runs (a duration), or how many operations (e.g. 100x)")
	return cmd
}

// setBenchtime sets the time testing.Benchmark gives each function.
var benchtimeMu sync.Mutex

func setBenchtime(v string) error {
	benchtimeMu.Lock()
	defer benchtimeMu.Unlock()
	testing.Init() // registers test.benchtime; a no-op the second time
	if err := flag.Set("test.benchtime", v); err != nil {
		return usagef("--benchtime %q: want a duration (1s) or a count (100x)", v)
	}
	return nil
}

func cmdBench(ctx context.Context, env *cliEnv, benchtime string) (err error) {
	if err := setBenchtime(benchtime); err != nil {
		return err
	}
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := benchPrefix + hex.EncodeToString(rnd[:]) + ":"
	scratch, err := registry.WithParams(dsn, url.Values{"prefix": {prefix}, "max_alerts": {strconv.Itoa(storebench.StoreSize)}})
	if err != nil {
		return err
	}
	s, err := registry.Open(ctx, scratch)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	// Before the first write: every tier must be on the scratch prefix,
	// and the namespace must be empty, i.e. made by this run.
	if err := s.RequireNamespace(prefix); err != nil {
		return err
	}
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if n, err := s.Count(ctx); err != nil {
		return err
	} else if n != 0 {
		return fmt.Errorf("%w: the scratch namespace %q already holds %d entries: bench did not create it, and refuses to write, clear or drop it", backend.ErrInvalidConfig, prefix, n)
	}
	defer func() {
		// What the run wrote goes, even after Ctrl-C.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		var cerr error
		if s.Capabilities().Drop {
			cerr = s.Drop(cctx)
		} else {
			cerr = s.Clear(cctx)
		}
		if cerr != nil {
			fmt.Fprintf(env.stderr, "bench: removing the scratch namespace %q: %v\n", prefix, cerr)
		}
	}()
	u, _ := url.Parse(dsn) // it opened: it parses
	wait, _ := strconv.Atoi(u.Query().Get("min_replicas"))
	raw, kind, cleanup, err := baseline.For(ctx, s, u.Scheme, prefix+"raw", wait)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(env.stdout, "bench of %s in the scratch namespace %q (removed afterwards)\n", registry.RedactDSN(scratch), prefix)
	if kind == baseline.KindNone {
		fmt.Fprintf(env.stdout, "raw baseline: none for this backend (store figures only)\n")
	} else {
		fmt.Fprintf(env.stdout, "raw baseline: %s\n", kind)
	}
	start := time.Now()
	results, err := storebench.Table(ctx, storebench.Payload(conformance.LegacyAlerts()), s, raw, func(row string) {
		fmt.Fprintf(env.stderr, "bench: %s (%s)\n", row, time.Since(start).Round(time.Second))
	})
	printBench(env, results)
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("bench: row %s: %w", r.Row, r.Err)
		}
	}
	return nil
}

func printBench(env *cliEnv, results []storebench.Result) {
	w := len("row") // the widest row name, so that the columns line up
	for _, r := range results {
		w = max(w, len(r.Row))
	}
	fmt.Fprintf(env.stdout, "%-*s %14s %14s %9s %11s %11s\n", w, "row", "store", "raw", "store/raw", "p99 store", "p99 raw")
	num := func(v float64, unit string) string {
		if v == 0 {
			return "-"
		}
		if unit == "latency-us" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " us"
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + "/s"
	}
	us := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + " us"
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(env.stdout, "%-*s failed: %v\n", w, r.Row, r.Err)
			continue
		}
		ratio := "-"
		if x := r.Ratio(); x > 0 {
			ratio = strconv.FormatFloat(x, 'f', 2, 64) + "x"
		}
		fmt.Fprintf(env.stdout, "%-*s %14s %14s %9s %11s %11s\n", w, r.Row, num(r.Store, r.Metric), num(r.Raw, r.Metric), ratio, us(r.StoreP99), us(r.RawP99))
	}
	fmt.Fprintln(env.stdout, strings.TrimSpace(`
store/raw above 1: the store does better than the hand-written baseline
(more alerts/s; for Watch, less latency). Rates are alerts per second.`))
}
