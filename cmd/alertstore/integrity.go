package main

// The integrity of the record (issue 9, section 6): the namespace's
// recorded cap (cap), what status shows of it and of the audit records,
// and what list says about signatures.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/spf13/cobra"
)

// statusAuditRecords is how many audit records status prints.
const statusAuditRecords = 5

func newCapCmd(env *cliEnv) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:       "cap [show | set N --yes]",
		Short:     "show the namespace's recorded cap, or change it (cap set N --yes)",
		Args:      cobra.ArbitraryArgs, // checked by cmdCap, which knows the words
		ValidArgs: []cobra.Completion{"show", "set"},
		RunE:      func(cmd *cobra.Command, args []string) error { return cmdCap(cmd.Context(), env, args, yes) },
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really change the namespace's cap")
	return cmd
}

func cmdCap(ctx context.Context, env *cliEnv, pos []string, yes bool) (err error) {
	sub, n := "show", 0
	switch {
	case len(pos) == 0 || (len(pos) == 1 && pos[0] == "show"):
	case len(pos) == 2 && pos[0] == "set":
		sub = "set"
		if n, err = strconv.Atoi(pos[1]); err != nil || backend.CheckCapValue(n) != nil {
			shown := fmt.Sprintf("%q", pos[1])
			if looksLikeDSN(pos[1]) {
				shown = "an argument that looks like a DSN (not shown; use --dsn)"
			}
			return usagef("cap set: %s is not a whole number in [1, %d]", shown, backend.MaxMaxAlerts)
		}
	default:
		for _, a := range pos {
			if looksLikeDSN(a) {
				return usagef("cap takes show, or set N --yes; an argument looks like a DSN (not shown): use --dsn DSN, or better $%s", envDSN)
			}
		}
		return usagef("cap takes show, or set N --yes; got %d arguments", len(pos))
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	info, err := s.NamespaceInfo(ctx)
	if err != nil {
		return err
	}
	prefix := s.Config().Prefix
	if sub == "show" {
		if info.Cap == 0 {
			fmt.Fprintf(env.stdout, "no cap recorded for prefix %q of %s yet (the first append records its writer's max_alerts)\n", prefix, s.Backend())
			return nil
		}
		fmt.Fprintf(env.stdout, "%d\n", info.Cap)
		return nil
	}
	if !yes {
		return usagef("cap set changes the cap of prefix %q of %s from %s to %d for every writer that does not set max_alerts (%d entries now; lowering it drops the oldest at the next append); run again with --yes",
			prefix, s.Backend(), capString(info.Cap), n, info.Len)
	}
	if err := s.SetCap(ctx, n); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "cap of prefix %q of %s: %s -> %d (audited)\n", prefix, s.Backend(), capString(info.Cap), n)
	return nil
}

func capString(c int) string {
	if c == 0 {
		return "none"
	}
	return strconv.Itoa(c)
}

// printNamespace is status's part about the record: the recorded cap
// (and entries missing below it), the newest audit records. A backend
// without the namespace capability gets one line saying so.
func printNamespace(w io.Writer, ns *statusNamespace) {
	if !ns.Kept {
		fmt.Fprintf(w, "recorded cap: not kept by this backend\n")
		return
	}
	fmt.Fprintf(w, "recorded cap: %s\n", capString(ns.RecordedCap))
	if m := ns.Missing; m > 0 {
		fmt.Fprintf(w, "WARNING:      %d entries missing: %d stored, but the recorded cap is %d and %d were appended since the last clear; "+
			"something outside alertstore trimmed or deleted them (an old tool's LTRIM with its own max_alerts?)\n",
			m, ns.Stored, ns.RecordedCap, ns.Appended)
	}
	if ns.AuditTotal == 0 {
		fmt.Fprintf(w, "audit:        no clear or cap change recorded\n")
		return
	}
	fmt.Fprintf(w, "audit:        newest %d of %d records\n", len(ns.Audit), ns.AuditTotal)
	for _, r := range ns.Audit {
		what := fmt.Sprintf("cleared %d entries", r.Entries)
		if r.Op == backend.AuditSetCap {
			what = fmt.Sprintf("cap %s -> %d (%d entries)", capString(r.OldCap), r.Cap, r.Entries)
		}
		fmt.Fprintf(w, "  %s  %-24s %s\n", r.Time.UTC().Format(time.RFC3339), r.Client, what)
	}
}

// sanitize keeps a client name read from storage from steering the
// terminal: anything but printable ASCII becomes '?'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// reportSignatures tells, on stderr, how many listed alerts were unsigned
// or failed verification (or were hidden, with --verified).
func reportSignatures(env *cliEnv, p *backend.Page, verified bool) {
	if p.Unsigned == 0 && p.Invalid == 0 {
		return
	}
	verb := "listed"
	if verified {
		verb = "hid"
	}
	env.notef("%s %d unsigned and %d alerts whose signature does not verify (edited, forged, or signed with a key this reader lacks)", verb, p.Unsigned, p.Invalid)
}
