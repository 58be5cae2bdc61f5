package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/spf13/cobra"
)

// watchOptions are watch's flags.
type watchOptions struct {
	filter  filterFlags
	asJSON  bool
	sinceID string
	cursor  string
	output  *outputFlag
}

func newWatchCmd(env *cliEnv) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "print new alerts as they arrive, filtered like list, until Ctrl-C (--cursor: resume without gaps)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdWatch(cmd.Context(), env, cmd, &o) },
	}
	f := cmd.Flags()
	o.filter.add(f)
	f.BoolVar(&o.asJSON, "json", false, "the same as -o ndjson: one alert per line, as stored")
	o.output = addOutputFlag(cmd, formatTable, formatNDJSON, formatJSONLines, formatCSV)
	f.StringVar(&o.sinceID, "since-id", "", "first print the alerts stored after the alert with this id")
	f.StringVar(&o.cursor, "cursor", "", "first print the alerts stored after this position: the resume point watch prints on exit (or list's next: cursor)")
	return cmd
}

func cmdWatch(ctx context.Context, env *cliEnv, cmd *cobra.Command, o *watchOptions) (err error) {
	if o.asJSON {
		if cmd.Flags().Changed("output") && o.output.format != formatNDJSON && o.output.format != formatJSONLines {
			return usagef("--json is -o ndjson: give one")
		}
		o.output.format = formatNDJSON
	}
	if err := o.output.check(); err != nil {
		return err
	}
	if o.sinceID != "" && o.cursor != "" {
		return usagef("--since-id and --cursor both say where to resume: give one")
	}
	q, err := o.filter.query()
	if err != nil {
		return err
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	if o.cursor != "" && !positionsAreCursors(s) {
		return usagef("--cursor: a %s store's watch merges its tiers, whose positions are not list cursors; resume with --since-id", s.Backend())
	}
	var emit func(*backend.Alert) error
	switch o.output.format {
	case formatNDJSON:
		emit = func(a *backend.Alert) error {
			b, err := a.MarshalJSON()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.stdout, "%s\n", b)
			return err
		}
	case formatCSV:
		header := false
		emit = func(a *backend.Alert) error {
			rows := [][]string{alertCSVRow(a, env.show)}
			if !header {
				header = true
				rows = append([][]string{alertCSVHeader}, rows...)
			}
			return writeCSV(env.stdout, rows)
		}
	default:
		emit = rowPrinter(env.stdout, env.show)
	}
	last, err := followAlerts(ctx, env, s, q, resumePoint{id: o.sinceID, cursor: o.cursor}, emit)
	switch {
	case last.cursor != "" && last.id != "":
		env.notef("resume with --cursor %s (or --since-id %s)", last.cursor, last.id)
	case last.cursor != "":
		env.notef("resume with --cursor %s", last.cursor)
	case last.id != "":
		env.notef("resume with --since-id %s", last.id)
	}
	if errors.Is(err, backend.ErrUnsupported) {
		return usagef("%v; use `alertstore list --since` to poll this backend", err)
	}
	return err
}

// filterQuery turns the list filters into a Query.
func filterQuery(sev, minSev, entity, source string) (backend.Query, error) {
	q := backend.Query{Entity: entity, SourceType: source}
	if sev != "" {
		for _, w := range strings.Split(sev, ",") {
			s, err := backend.ParseSeverity(w)
			if err != nil {
				return q, usagef("--severity: %v", err)
			}
			q.Severities = append(q.Severities, s)
		}
	}
	if minSev != "" {
		s, err := backend.ParseSeverity(minSev)
		if err != nil {
			return q, usagef("--min-severity: %v", err)
		}
		q.MinSeverity = s
	}
	return q, nil
}

// positionsAreCursors reports whether the positions s's watch delivers are
// list positions, so that a watch can resume from a cursor: true for every
// backend but the chain, whose watch merges its tiers' (Alert.Cursor).
func positionsAreCursors(s *backend.Store) bool { return s.Backend() != "chain" }

// resumePoint is where a watch resumes: after the alert with this id, or
// after this cursor (a position; it advances past alerts the filters
// leave out too).
type resumePoint struct{ id, cursor string }

// followAlerts prints, through emit, the alerts matching q that are
// stored after from (when given), oldest first, then every new matching
// alert as it arrives, until ctx is done. It subscribes before it lists
// what is already stored, so nothing stored in between is missed, and
// skips the overlap by id, so nothing is printed twice. When the watch
// falls behind (ErrLagged), it catches up the same way from where it was.
// It returns the resume point: the id of the last alert printed, and the
// cursor of the last alert seen, printed or not.
func followAlerts(ctx context.Context, env *cliEnv, s *backend.Store, q backend.Query, from resumePoint, emit func(*backend.Alert) error) (resumePoint, error) {
	last := from
	byCursor := positionsAreCursors(s)
	for {
		w, err := s.Watch(ctx)
		if err != nil {
			return last, err
		}
		seen := map[string]bool{} // ids of the catch-up
		var newer []*backend.Alert
		switch {
		case last.cursor != "":
			newer, err = alertsAfterCursor(ctx, env, s, last.cursor)
		case last.id != "":
			newer, err = alertsAfter(ctx, s, last.id)
		case byCursor:
			// From now: the resume point is the newest alert stored.
			var page *backend.Page
			if page, err = s.List(ctx, backend.Query{Limit: 1}); err == nil && len(page.Alerts) > 0 {
				last.cursor = page.Alerts[0].Cursor()
			}
		}
		if err != nil {
			_ = w.Close() // a subscription's close has nothing to report
			return last, err
		}
		for _, a := range newer {
			seen[a.ID()] = true
			if byCursor {
				last.cursor = a.Cursor()
			}
			if !q.Match(a) {
				continue
			}
			if err := emit(a); err != nil {
				_ = w.Close() // a subscription's close has nothing to report
				return last, err
			}
			last.id = a.ID()
		}
		env.notef("following %s (Ctrl-C to stop)", s.Backend())
		err = followWatch(ctx, w, q, seen, byCursor, &last, emit)
		_ = w.Close() // a subscription's close has nothing to report
		if errors.Is(err, backend.ErrLagged) {
			env.notef("fell behind; catching up")
			continue
		}
		if ctx.Err() != nil {
			return last, nil // SIGINT, SIGTERM: a normal end
		}
		return last, err
	}
}

func followWatch(ctx context.Context, w *backend.Watch, q backend.Query, seen map[string]bool, byCursor bool, last *resumePoint, emit func(*backend.Alert) error) error {
	for {
		a, err := w.Next(ctx)
		if err != nil {
			return err
		}
		if seen != nil {
			if seen[a.ID()] {
				continue // the catch-up had it
			}
			seen = nil // watch order is store order: past the overlap
		}
		if c := a.Cursor(); byCursor && c != "" {
			last.cursor = c
		}
		if !q.Match(a) {
			continue
		}
		if err := emit(a); err != nil {
			return err
		}
		last.id = a.ID()
	}
}

// alertsAfterCursor returns the stored alerts after cursor, oldest first.
// When nothing at or before the cursor is stored any more, what came
// between it and the oldest stored alert may have been trimmed: it says
// so, and goes on.
func alertsAfterCursor(ctx context.Context, env *cliEnv, s *backend.Store, cursor string) ([]*backend.Alert, error) {
	var newer []*backend.Alert
	next := ""
	for {
		page, err := s.List(ctx, backend.Query{Limit: 1000, After: cursor, Cursor: next})
		if err != nil {
			return nil, err
		}
		newer = append(newer, page.Alerts...)
		if page.Next == "" {
			if !page.AfterReached {
				env.warnf("nothing stored at or before --cursor %s any more: alerts stored after it may have been trimmed (or cleared) before this watch", cursor)
			}
			slices.Reverse(newer)
			return newer, nil
		}
		next = page.Next
	}
}

// alertsAfter returns the stored alerts newer than the alert id, oldest
// first. It reads newest first until it meets id; an id not stored (any
// more) is an error, since what came between it and the oldest stored
// alert cannot be known: no silent gap.
func alertsAfter(ctx context.Context, s *backend.Store, id string) ([]*backend.Alert, error) {
	var newer []*backend.Alert
	cursor := ""
	for {
		page, err := s.List(ctx, backend.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, a := range page.Alerts {
			if a.ID() == id {
				slices.Reverse(newer)
				return newer, nil
			}
			newer = append(newer, a)
		}
		if page.Next == "" {
			return nil, usagef("--since-id %s: no stored alert has this id (trimmed by the cap, or mistyped); nothing was printed. Start without it to follow from now, or use `alertstore list`", strconv.Quote(id))
		}
		cursor = page.Next
	}
}

// rowPrinter prints one table row per alert, with list's columns, display
// and escaping (escapeCell), the header before the first; columns have
// fixed widths since rows come one at a time.
func rowPrinter(w io.Writer, d display) func(*backend.Alert) error {
	header := false
	return func(a *backend.Alert) error {
		if !header {
			header = true
			if _, err := fmt.Fprintf(w, "%-25s  %s  %-28s  %-10s  %-5s  %-60s  %s\n", "TIMESTAMP", d.paint(fmt.Sprintf("%-8s", "SEVERITY"), backend.SeverityUnknown), "ENTITY", "SOURCE", "SCORE", "MESSAGE", "ID"); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "%-25s  %s  %-28s  %-10s  %-5s  %-60s  %s\n", dash(d.timestamp(a, tableTimeLayout)), d.paint(fmt.Sprintf("%-8s", dash(d.severity(a))), a.Severity()), dash(clip(a.Entity(), 28)),
			dash(a.SourceType()), scoreCell(a), dash(clip(a.Message(), 60)), dash(a.ID()))
		return err
	}
}
