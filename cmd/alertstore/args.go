package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// maxArgs is the Args check of a command that takes at most n positional
// arguments: the refusal comes before the command opens anything. Flags
// may come anywhere, so `alertstore clear --yes redis://...` is a
// DSN given as an argument, and is refused rather than ignored (which
// cleared the default store once).
func maxArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		return checkArgs(args, n)
	}
}

// checkArgs refuses more than limit positional arguments, and any that
// looks like a DSN, never echoing one: an argument that looks like a DSN
// (looksLikeDSN) gets the hint to use --dsn, with the DSN not shown (its
// password may sit anywhere in a malformed one).
func checkArgs(args []string, limit int) error {
	dsnArg := false
	for _, a := range args {
		dsnArg = dsnArg || looksLikeDSN(a)
	}
	if !dsnArg && len(args) <= limit {
		return nil
	}
	var msg []string
	switch {
	case limit == 0:
		msg = append(msg, fmt.Sprintf("takes no arguments, got %d", len(args)))
	case len(args) > limit:
		msg = append(msg, fmt.Sprintf("takes at most %d argument(s), got %d", limit, len(args)))
	}
	if dsnArg {
		msg = append(msg, fmt.Sprintf("an argument looks like a DSN (not shown): use --dsn DSN, or better $%s (an argument shows in ps)", envDSN))
	}
	return usagef("%s; nothing was done", strings.Join(msg, "; "))
}
