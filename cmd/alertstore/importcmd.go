package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/apt-detection/alertstore/archive"
	"github.com/apt-detection/alertstore/backend"
	"github.com/spf13/cobra"
)

func newImportCmd(env *cliEnv) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "import [FILE|-]",
		Short: "store an export's alerts in file order, keeping ids; run again to resume (skips what is stored)",
		Long: "import stores the alerts of an export (FILE, or stdin) in file order, keeping\n" +
			"their ids and timestamps. An alert whose id and content are stored already is\n" +
			"skipped, so running the same import again after an interruption completes it;\n" +
			"an id stored with other content is a conflict, reported and not stored.\n" +
			"Invalid lines are named by number on stderr; exit 4 when any line was not stored.",
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := "-"
			if len(args) == 1 {
				src = args[0]
			}
			return cmdImport(cmd.Context(), env, src, batch)
		},
	}
	cmd.Flags().IntVar(&batch, "batch", archive.DefaultBatch, "alerts stored per write")
	return cmd
}

// cmdImport stores the alerts of an export in file order, keeping ids and
// timestamps (archive.Import): run again after an interruption, it stores
// what is missing and skips what is stored.
func cmdImport(ctx context.Context, env *cliEnv, src string, batch int) (err error) {
	if batch < 1 || batch > maxStreamBatch {
		return usagef("--batch %d: want 1 to %d", batch, maxStreamBatch)
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
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)

	last := time.Now()
	res, err := archive.Import(ctx, s, in, &archive.ImportOptions{
		Batch: batch,
		Reject: func(le *archive.LineError) {
			env.notef("%v", le)
		},
		Progress: func(r archive.ImportResult) {
			if time.Since(last) < progressEvery {
				return
			}
			last = time.Now()
			env.notef("line %d: %d stored, %d already stored", r.Lines, r.Stored, r.AlreadyStored)
		},
	})
	env.notef("%d alerts stored, %d already stored (skipped), %d conflicts, %d invalid lines, of %d lines",
		res.Stored, res.AlreadyStored, res.Conflicts, res.Invalid, res.Lines)
	if res.Trimmed > 0 {
		env.warnf("the store's cap dropped the oldest %d entries as the import went: it holds the newest; running this import again would store those again after the newer ones: raise the cap first (max_alerts, `alertstore cap set`)", res.Trimmed)
	}
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
