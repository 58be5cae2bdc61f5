package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/apt-detection/alertstore/archive"
	"github.com/apt-detection/alertstore/backend"
)

// cmdImport stores the alerts of an export in file order, keeping ids and
// timestamps (archive.Import): run again after an interruption, it stores
// what is missing and skips what is stored.
func cmdImport(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "import", "[--dsn DSN] [--batch N] [FILE|-]")
	batch := fs.Int("batch", archive.DefaultBatch, "alerts stored per write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *batch < 1 || *batch > maxStreamBatch {
		return usagef("--batch %d: want 1 to %d", *batch, maxStreamBatch)
	}
	src := "-"
	if fs.NArg() == 1 {
		src = fs.Arg(0)
	}
	in := env.stdin
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return usagef("cannot read %s: %v", src, errors.Unwrap(err))
		}
		defer func() { _ = f.Close() }() // read only
		in = f
	}
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)

	last := time.Now()
	res, err := archive.Import(ctx, s, in, &archive.ImportOptions{
		Batch: *batch,
		Reject: func(le *archive.LineError) {
			fmt.Fprintf(env.stderr, "alertstore import: %v\n", le)
		},
		Progress: func(r archive.ImportResult) {
			if time.Since(last) < progressEvery {
				return
			}
			last = time.Now()
			fmt.Fprintf(env.stderr, "alertstore import: line %d: %d stored, %d already stored\n", r.Lines, r.Stored, r.AlreadyStored)
		},
	})
	fmt.Fprintf(env.stderr, "alertstore import: %d alerts stored, %d already stored (skipped), %d conflicts, %d invalid lines, of %d lines\n",
		res.Stored, res.AlreadyStored, res.Conflicts, res.Invalid, res.Lines)
	if err != nil {
		return err
	}
	if res.Conflicts+res.Invalid > 0 {
		msg := fmt.Sprintf("%d lines not stored (listed above)", res.Conflicts+res.Invalid)
		if res.Conflicts > 0 {
			msg += fmt.Sprintf("; %d conflicts: the store holds their ids with other content, kept as it was (check which copy is genuine)", res.Conflicts)
		}
		if res.Stored+res.AlreadyStored == 0 {
			return fmt.Errorf("%w: %s", backend.ErrInvalidAlert, msg)
		}
		return &storedSome{fmt.Errorf("%w: %s; the other lines are stored", backend.ErrInvalidAlert, msg)}
	}
	return nil
}
