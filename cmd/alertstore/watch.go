package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	output  *outputFlag
}

func newWatchCmd(env *cliEnv) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "print new alerts as they arrive, filtered like list, until Ctrl-C (--since-id: resume without gaps)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdWatch(cmd.Context(), env, cmd, &o) },
	}
	f := cmd.Flags()
	o.filter.add(f)
	f.BoolVar(&o.asJSON, "json", false, "the same as -o ndjson: one alert per line, as stored")
	o.output = addOutputFlag(cmd, formatTable, formatNDJSON, formatJSONLines, formatCSV)
	f.StringVar(&o.sinceID, "since-id", "", "first print the alerts stored after this one (the resume point printed on exit)")
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
	q, err := o.filter.query()
	if err != nil {
		return err
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
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
	last, err := followAlerts(ctx, env, s, q, o.sinceID, emit)
	if last != "" {
		env.notef("resume with --since-id %s", last)
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

// followAlerts prints, through emit, the alerts matching q that are
// stored after the alert sinceID (when given), oldest first, then every
// new matching alert as it arrives, until ctx is done. It subscribes
// before it lists what is already stored, so nothing stored in between
// is missed, and skips the overlap by id, so nothing is printed twice.
// When the watch falls behind (ErrLagged), it catches up the same way
// from the last alert it printed. It returns the id of the last alert
// printed (else sinceID): the resume point.
func followAlerts(ctx context.Context, env *cliEnv, s *backend.Store, q backend.Query, sinceID string, emit func(*backend.Alert) error) (string, error) {
	last := sinceID
	for {
		w, err := s.Watch(ctx)
		if err != nil {
			return last, err
		}
		seen := map[string]bool{} // ids printed by the catch-up
		if last != "" {
			newer, err := alertsAfter(ctx, s, last)
			if err != nil {
				_ = w.Close() // a subscription's close has nothing to report
				return last, err
			}
			for _, a := range newer {
				if !q.Match(a) {
					continue
				}
				if err := emit(a); err != nil {
					_ = w.Close() // a subscription's close has nothing to report
					return last, err
				}
				seen[a.ID()] = true
				last = a.ID()
			}
		}
		env.notef("following %s (Ctrl-C to stop)", s.Backend())
		err = followWatch(ctx, w, q, seen, &last, emit)
		_ = w.Close() // a subscription's close has nothing to report
		if errors.Is(err, backend.ErrLagged) {
			env.notef("fell behind; catching up from %s", last)
			continue
		}
		if ctx.Err() != nil {
			return last, nil // SIGINT, SIGTERM: a normal end
		}
		return last, err
	}
}

func followWatch(ctx context.Context, w *backend.Watch, q backend.Query, seen map[string]bool, last *string, emit func(*backend.Alert) error) error {
	for {
		a, err := w.Next(ctx)
		if err != nil {
			return err
		}
		if !q.Match(a) {
			continue
		}
		if seen != nil {
			if seen[a.ID()] {
				continue // printed by the catch-up
			}
			seen = nil // watch order is store order: past the overlap
		}
		if err := emit(a); err != nil {
			return err
		}
		*last = a.ID()
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
				for i, j := 0, len(newer)-1; i < j; i, j = i+1, j-1 {
					newer[i], newer[j] = newer[j], newer[i]
				}
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
