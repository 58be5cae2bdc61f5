package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/apt-detection/alertstore/backend"
)

// maxConflictIDs is how many conflicting ids the stderr line names.
const maxConflictIDs = 10

// reportPage writes to w (stderr) what a page's alerts do not show: what
// was skipped and why, copies left out, same-id conflicts, a scan that
// stopped at its budget, and the cursor to continue.
func reportPage(w io.Writer, page *backend.Page) {
	if page.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d stored entries that are not valid alerts", page.Skipped)
		if page.Oversized > 0 {
			fmt.Fprintf(w, " (%d of them over max_alert_bytes, left unread in storage)", page.Oversized)
		}
		fmt.Fprintln(w)
	}
	if page.Duplicates > 0 {
		fmt.Fprintf(w, "hid %d identical copies of alerts (same id, same content)\n", page.Duplicates)
	}
	if n := len(page.Conflicts); n > 0 {
		ids := page.Conflicts[:min(n, maxConflictIDs)]
		more := ""
		if n > len(ids) {
			more = fmt.Sprintf(" and %d more", n-len(ids))
		}
		fmt.Fprintf(w, "CONFLICT: %d alert ids are stored more than once with different content (a forged or corrupted entry?); every copy is listed: %s%s\n",
			n, strings.Join(ids, ", "), more)
	}
	if page.Stopped {
		fmt.Fprintf(w, "stopped after examining %d entries (the scan budget, max_alerts): the list holds more entries than its cap, written by some other tool\n", page.Examined)
	}
	if page.Next != "" {
		fmt.Fprintf(w, "next: alertstore list --cursor %s\n", page.Next)
	}
}
