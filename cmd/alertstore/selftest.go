package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

// selftestPrefix starts every scratch namespace of `alertstore selftest`.
const selftestPrefix = "alertstore-selftest:"

func newSelftestCmd(env *cliEnv) *cobra.Command {
	var skip string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "run the conformance checks against the DSN in a scratch namespace",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdSelftest(cmd.Context(), env, skip, verbose) },
	}
	cmd.Flags().StringVar(&skip, "skip", "", "comma list of check names not to run")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each check's rule")
	return cmd
}

func cmdSelftest(ctx context.Context, env *cliEnv, skip string, verbose bool) error {
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	// Fail fast, with the open error, on a bad DSN or a dead server; and
	// before any check writes, refuse a store that would not write under
	// the scratch prefix the suite gives it (a tier keeping a prefix of its
	// own). The suite checks every namespace again before writing to it.
	probe, err := registry.WithParams(dsn, url.Values{"prefix": {selftestPrefix + "probe:"}})
	if err != nil {
		return err
	}
	s, err := registry.Open(ctx, probe)
	if err != nil {
		return err
	}
	err = s.RequireNamespace(selftestPrefix + "probe:")
	if err == nil {
		err = s.Ping(ctx)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "selftest of %s in scratch namespaces under %q (removed afterwards)\n", registry.RedactDSN(dsn), selftestPrefix)
	var skips []string
	if skip != "" {
		skips = strings.Split(skip, ",")
	}
	start := time.Now()
	results := conformance.Run(ctx, conformance.NewDSNHarness(dsn), selftestPrefix, skips...)
	var passed, failed, skipped int
	for _, r := range results {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(env.stdout, "FAIL  %-32s %v\n", r.Name, r.Err)
			fmt.Fprintf(env.stdout, "      rule: %s\n", r.Rule)
		case r.Skipped != "":
			skipped++
			fmt.Fprintf(env.stdout, "SKIP  %-32s %s\n", r.Name, r.Skipped)
		default:
			passed++
			fmt.Fprintf(env.stdout, "ok    %-32s %s\n", r.Name, r.Duration.Round(time.Millisecond))
			if verbose {
				fmt.Fprintf(env.stdout, "      rule: %s\n", r.Rule)
			}
		}
	}
	fmt.Fprintf(env.stdout, "selftest: %d passed, %d failed, %d skipped in %s\n", passed, failed, skipped, time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d conformance checks failed against %s", errChecksFailed, failed, len(results), registry.RedactDSN(dsn))
	}
	return nil
}
