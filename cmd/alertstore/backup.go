package main

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backends/bolt"
)

// cmdBackup writes a consistent copy of a bolt file, safe while another
// process writes to it (bolt.Backup).
func cmdBackup(ctx context.Context, env *cliEnv, args []string) error {
	fs, dsnFlag := newFlags(env, "backup", "[--dsn bolt:///path/alerts.db] OUT")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("backup takes the backup file to write: alertstore backup [--dsn bolt:///path/alerts.db] OUT")
	}
	dsn, err := resolveDSN(*dsnFlag)
	if err != nil {
		return err
	}
	info, err := bolt.BackupDSN(ctx, dsn, fs.Arg(0))
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
