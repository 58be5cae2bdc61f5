package main

import (
	"context"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

func newStatusCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "backend, health, count, capabilities, and a chain's tiers and replay (exit 6: chain degraded)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdStatus(cmd.Context(), env) },
	}
}

func cmdStatus(ctx context.Context, env *cliEnv) (err error) {
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	s, err := env.openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	cfg := s.Config()
	fmt.Fprintf(env.stdout, "dsn:          %s\n", registry.RedactDSN(dsn))
	fmt.Fprintf(env.stdout, "backend:      %s\n", s.Backend())
	fmt.Fprintf(env.stdout, "prefix:       %s\n", cfg.Prefix)
	fmt.Fprintf(env.stdout, "max_alerts:   %d\n", cfg.MaxAlerts)
	c := s.Capabilities()
	fmt.Fprintf(env.stdout, "capabilities: watch=%t shared=%t persistent=%t durable=%t\n", c.Watch, c.Shared, c.Persistent, c.Durable)
	start := time.Now()
	pingErr := s.Ping(ctx)
	printChainStatus(env, s)
	printSecurityWarnings(env)
	if pingErr != nil {
		fmt.Fprintf(env.stdout, "health:       DOWN (%v)\n", pingErr)
		return pingErr
	}
	fmt.Fprintf(env.stdout, "health:       ok (%s)\n", time.Since(start).Round(time.Microsecond))
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "entries:      %d\n", n)
	if err := printIntegrity(ctx, env, s); err != nil {
		return err
	}
	if st, ok := chain.StatusOf(s); ok && !st.DegradedSince.IsZero() {
		return errDegraded
	}
	return nil
}
