package main

import (
	"context"
	"fmt"

	"github.com/apt-detection/alertstore/backends/doctor"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

func newDoctorCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "check the deployment for what is unsafe (TLS, ACL, eviction, persistence, version...) and say how to fix it",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdDoctor(cmd.Context(), env) },
	}
}

// cmdDoctor checks the deployment the DSN names and explains each finding
// (backends/doctor); any FAIL makes the exit code 1.
func cmdDoctor(ctx context.Context, env *cliEnv) error {
	dsn, err := resolveDSN(env.globals.dsn)
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
