package main

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/spf13/cobra"
)

func newBackupCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "backup OUT",
		Short: "copy a bolt file consistently, also while another process writes to it",
		Long: "backup writes a consistent, checked copy of the bolt file the DSN names to OUT\n" +
			"(written beside it and renamed into place), also while another process holds\n" +
			"the file and writes to it. Other backends: see docs/operations.md (Redis keeps\n" +
			"its own RDB/AOF files; `alertstore export` works for every backend).",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := maxArgs(1)(cmd, args); err != nil {
				return err
			}
			if len(args) == 0 {
				return usagef("backup takes the backup file to write: alertstore backup [--dsn bolt:///path/alerts.db] OUT")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmdBackup(cmd.Context(), env, args[0]) },
	}
}

// cmdBackup writes a consistent copy of a bolt file, safe while another
// process writes to it (bolt.Backup).
func cmdBackup(ctx context.Context, env *cliEnv, out string) error {
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	info, err := bolt.BackupDSN(ctx, dsn, out)
	if err != nil {
		return err
	}
	how := "with bbolt's own copy (no other process had it open)"
	if info.Live {
		how = fmt.Sprintf("while another process held it (a lock-free copy, %d attempt(s))", info.Attempts)
	}
	fmt.Fprintf(env.stdout, "backed up to %s: %d bytes, transaction %d, %s; checked\n", info.Path, info.Bytes, info.TxID, how)
	return nil
}
