package main

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backends/doctor"
	"github.com/apt-detection/alertstore/registry"
)

// cmdDoctor checks the deployment the DSN names and explains each finding
// (backends/doctor); any FAIL makes the exit code 1.
func cmdDoctor(ctx context.Context, env *cliEnv, args []string) error {
	fs, dsnFlag := newFlags(env, "doctor", "[--dsn DSN]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("doctor takes no arguments; give the DSN with --dsn or $%s", envDSN)
	}
	dsn, err := resolveDSN(*dsnFlag)
	if err != nil {
		return err
	}
	// Not opened yet: a misspelled secret parameter would show in full.
	fmt.Fprintf(env.stdout, "checking %s\n", registry.DSNOrigin(dsn))
	rep, err := doctor.Run(ctx, dsn)
	if err != nil {
		return err
	}
	rep.Print(env.stdout)
	if rep.Unsafe() {
		return fmt.Errorf("%w: doctor found something unsafe (FAIL above)", errChecksFailed)
	}
	return nil
}
