package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apt-detection/alertstore/archive"
	"github.com/spf13/cobra"
)

// progressEvery is how often export and import say where they are.
const progressEvery = time.Second

func newExportCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "export [FILE|-]",
		Short: "write every stored alert, oldest first, with its id, as NDJSON (to FILE or stdout)",
		Long: "export writes every alert stored when it begins, oldest first, one JSON object\n" +
			"per line as stored (id and timestamp included), to FILE or stdout: what import\n" +
			"stores back in the same order. Progress and the count go to stderr.",
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := "-"
			if len(args) == 1 {
				dest = args[0]
			}
			return cmdExport(cmd.Context(), env, dest)
		},
	}
}

// cmdExport writes every stored alert, oldest first, as NDJSON
// (archive.Export), to a file or stdout.
func cmdExport(ctx context.Context, env *cliEnv, dest string) (err error) {
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)

	out, commit, abandon, err := exportTarget(env, dest)
	if err != nil {
		return err
	}
	last := time.Now()
	res, err := archive.Export(ctx, s, out, &archive.ExportOptions{Progress: func(p archive.Progress) {
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		if p.Phase == "read" {
			env.notef("read %d alerts", p.Done)
		} else {
			env.notef("written %d of %d alerts", p.Done, p.Total)
		}
	}})
	if err == nil {
		err = commit()
	}
	if err != nil {
		abandon()
		return fmt.Errorf("export to %s failed after %d alerts, nothing kept: %w", destName(dest), res.Alerts, err)
	}
	env.notef("exported %d alerts, oldest first, to %s", res.Alerts, destName(dest))
	if res.Skipped > 0 {
		env.notef("left out %d stored entries that are not alerts (written by another tool)", res.Skipped)
	}
	if res.Trimmed > 0 {
		env.warnf("writers trimmed the oldest %d entries away during the export: it holds the newest %d (no gap); export when writes are quiet, or raise max_alerts, to have them all", res.Trimmed, res.Alerts)
	}
	return nil
}

func destName(dest string) string {
	if dest == "-" {
		return "stdout"
	}
	return dest
}

// exportTarget opens where the export goes. A file is written beside
// itself and renamed into place by commit, so that a failed export never
// leaves a file that looks whole; it is readable by its owner only, as
// the store is.
func exportTarget(env *cliEnv, dest string) (w io.Writer, commit func() error, abandon func(), err error) {
	if dest == "-" {
		return env.stdout, func() error { return nil }, func() {}, nil
	}
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		return nil, nil, nil, usagef("%s is a directory: give the export file's name", dest)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating the export file: %w", err)
	}
	commit = func() error {
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), dest)
	}
	abandon = func() {
		_ = tmp.Close() // failed already: the temporary file goes
		_ = os.Remove(tmp.Name())
	}
	return tmp, commit, abandon, nil
}
