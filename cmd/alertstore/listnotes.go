package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// maxConflictIDs is how many conflicting ids the stderr line names.
const maxConflictIDs = 10

// reportPage writes to w (stderr) what a page's alerts do not show: what
// was skipped and why, copies left out, same-id conflicts, a scan that
// stopped at its budget, and the command that lists the next page (next,
// from nextHint). Each line but next: starts with prefix (the command's);
// next: is bare, to be copied.
func reportPage(w io.Writer, prefix string, page *backend.Page, next string) {
	if page.Skipped > 0 {
		fmt.Fprintf(w, "%sskipped %d stored entries that are not valid alerts", prefix, page.Skipped)
		if page.Oversized > 0 {
			fmt.Fprintf(w, " (%d of them over max_alert_bytes, left unread in storage)", page.Oversized)
		}
		fmt.Fprintln(w)
	}
	if page.Duplicates > 0 {
		fmt.Fprintf(w, "%shid %d identical copies of alerts (same id, same content)\n", prefix, page.Duplicates)
	}
	if n := len(page.Conflicts); n > 0 {
		ids := page.Conflicts[:min(n, maxConflictIDs)]
		more := ""
		if n > len(ids) {
			more = fmt.Sprintf(" and %d more", n-len(ids))
		}
		fmt.Fprintf(w, "%swarning: CONFLICT: %d alert ids are stored more than once with different content (a forged or corrupted entry?); every copy is listed: %s%s\n",
			prefix, n, strings.Join(ids, ", "), more)
	}
	if page.Stopped {
		fmt.Fprintf(w, "%swarning: stopped after examining %d entries (the scan budget, max_alerts): the list holds more entries than its cap, written by some other tool\n", prefix, page.Examined)
	}
	if next != "" {
		fmt.Fprintf(w, "next: %s\n", next)
	}
}

// nextHint is the command line that lists the page after this one: list
// --cursor next with every other flag the user gave, so that the next page
// is filtered, limited and printed as this one was. --offset is left out
// (the cursor already continues after this page); a relative --since or
// --until (2h) is given as the instant it meant, so that the window does
// not move between pages; a --dsn that holds a secret is given as
// "$ALERTSTORE_DSN", never printed. "" when there is no next page.
func nextHint(cmd *cobra.Command, next string, q backend.Query) string {
	if next == "" {
		return ""
	}
	parts := []string{"alertstore", cmd.Name(), "--cursor", shellQuote(next)}
	dsnHidden := false
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "cursor", "offset":
			return
		case "since", "until":
			t := q.Since
			if f.Name == "until" {
				t = q.Until
			}
			parts = append(parts, "--"+f.Name, t.UTC().Format(time.RFC3339Nano))
			return
		case "dsn":
			if holdsSecret(f.Value.String()) {
				parts = append(parts, "--dsn", `"$`+envDSN+`"`)
				dsnHidden = true
				return
			}
		}
		if f.Value.Type() == "bool" {
			if f.Value.String() == "true" {
				parts = append(parts, "--"+f.Name)
			} else {
				parts = append(parts, "--"+f.Name+"=false")
			}
			return
		}
		parts = append(parts, "--"+f.Name, shellQuote(f.Value.String()))
	})
	hint := strings.Join(parts, " ")
	if dsnHidden {
		hint += "   (with $" + envDSN + " set to the DSN given: it holds a secret, not shown)"
	}
	return hint
}

// holdsSecret reports whether RedactDSN hides anything of dsn (a
// password, a secret parameter, a nested DSN).
func holdsSecret(dsn string) bool {
	const mark = "xxxxx" // RedactDSN's
	return strings.Count(registry.RedactDSN(dsn), mark) > strings.Count(dsn, mark)
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and -_.,:/=@%+
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/=@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
