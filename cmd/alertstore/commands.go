package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const envDSN = registry.EnvDSN

var errChecksFailed = errors.New("checks failed")

// resolveDSN picks --dsn, then $ALERTSTORE_DSN, then the embedded default.
func resolveDSN(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := os.Getenv(envDSN); v != "" {
		return v, nil
	}
	return defaultDSN()
}

// openStore opens the store a command works on, and remembers it so that
// run can report what the store did behind the command's back (a chain's
// replay dropping alerts).
func (env *cliEnv) openStore(ctx context.Context, flagValue string) (*backend.Store, error) {
	dsn, err := resolveDSN(flagValue)
	if err != nil {
		return nil, err
	}
	if env.globals.budgetErr != nil {
		return nil, env.globals.budgetErr
	}
	if ctx, err = env.withLogging(ctx); err != nil {
		return nil, err
	}
	s, err := registry.Open(ctx, dsn)
	if err == nil {
		env.opened = append(env.opened, s)
		warnFile(env, s)
		// A chain: say when a call fell back or read it degraded, and
		// replay its backlog before closing it (chaincli.go).
		s.SetObserver(&chainNotices{env: env, s: s})
		exitPlans.Store(s, &exitPlan{env: env, ctx: ctx})
	}
	return s, err
}

// putOptions are put's flags.
type putOptions struct {
	entity, entityType, eventType, severity, message string
	score, source, timestamp, id                     string
	fields                                           []string
	skipInvalid                                      bool
	stream                                           streamFlags
}

func newPutCmd(env *cliEnv) *cobra.Command {
	var o putOptions
	cmd := &cobra.Command{
		Use:   "put [flags] | put '<json>' | put -",
		Short: "store one alert (flags or a JSON argument) or NDJSON from stdin (put -)",
		Example: `  alertstore put --entity host1 --severity high --message "beacon to 10.0.0.9"
  alertstore put '{"entity": "host1", "severity": "High"}'
  detector | alertstore put -`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return cmdPut(cmd.Context(), env, cmd, &o, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.entity, "entity", "", "entity the alert is about (host, user, address)")
	f.StringVar(&o.entityType, "entity-type", "", "entity type, e.g. host or user")
	f.StringVar(&o.eventType, "event-type", "", "event type, e.g. lateral_movement")
	f.StringVar(&o.severity, "severity", "", "info, low, medium, high or critical")
	f.StringVar(&o.message, "message", "", "human-readable summary")
	f.StringVar(&o.score, "score", "", "prediction_score, a number")
	f.StringVar(&o.source, "source", "", "source.type, e.g. kafka")
	f.StringVar(&o.timestamp, "timestamp", "", "ISO 8601 timestamp (default now, UTC)")
	f.StringVar(&o.id, "id", "", "alert id (default a fresh UUIDv7)")
	f.StringArrayVar(&o.fields, "field", nil, "extra field as key=JSON (repeatable), e.g. --field 'features={\"n\":3}'")
	f.BoolVar(&o.skipInvalid, "skip-invalid", false, "with put --atomic -: store the valid lines and report the invalid ones (exit 4) instead of storing none (streaming always does)")
	o.stream.add(f)
	return cmd
}

func cmdPut(ctx context.Context, env *cliEnv, cmd *cobra.Command, o *putOptions, rest []string) (err error) {
	sf := &o.stream
	if err := sf.check(cmd.Flags(), rest, o.skipInvalid); err != nil {
		return err
	}
	if len(rest) == 1 && rest[0] == "-" && !sf.atomic {
		return putStream(ctx, env, env.globals.dsn, sf)
	}
	if len(rest) > 1 {
		return usagef("put takes at most one argument (a JSON object, or - for stdin), got %d", len(rest))
	}
	fromFlags := o.entity != "" || o.severity != "" || o.message != "" || o.eventType != "" || len(o.fields) > 0
	if len(rest) == 1 && fromFlags {
		return usagef("give the alert as flags or as a JSON argument, not both")
	}
	var alerts []*backend.Alert
	var lines []int // the input line of each alert (put -)
	var bad []error
	switch {
	case len(rest) == 1 && rest[0] == "-":
		var err error
		alerts, lines, bad, err = readNDJSON(env.stdin)
		if err != nil {
			return err
		}
		for _, e := range bad {
			env.notef("%s", message(e))
		}
		if len(bad) > 0 && !o.skipInvalid {
			return fmt.Errorf("%w: %d of %d lines invalid; nothing stored (use --skip-invalid to store the valid ones)", backend.ErrInvalidAlert, len(bad), len(bad)+len(alerts))
		}
	case len(rest) == 1:
		a, err := backend.ParseAlert([]byte(rest[0]))
		if err != nil {
			return err
		}
		alerts = []*backend.Alert{a}
	case fromFlags:
		a := backend.NewAlert()
		set := func(f func(string) error, v string) error {
			if v == "" {
				return nil
			}
			return f(v)
		}
		for _, step := range []error{
			set(a.SetID, o.id), set(a.SetEntity, o.entity), set(a.SetEntityType, o.entityType), set(a.SetEventType, o.eventType),
			set(func(v string) error { return a.Set(backend.FieldTimestamp, v) }, o.timestamp),
			set(func(v string) error { return a.Set(backend.FieldSeverity, v) }, o.severity),
			set(a.SetSourceType, o.source), set(a.SetMessage, o.message),
			set(func(v string) error { return a.Set(backend.FieldScore, json.RawMessage(v)) }, o.score),
		} {
			if step != nil {
				return step
			}
		}
		for _, f := range o.fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k == "" {
				return usagef("--field %q: want key=JSON", f)
			}
			if !json.Valid([]byte(v)) {
				v = strconv.Quote(v) // a bare word is a string
			}
			if err := a.Set(k, json.RawMessage(v)); err != nil {
				return err
			}
		}
		if err := canonicalFlagAlert(a); err != nil {
			return err
		}
		alerts = []*backend.Alert{a}
	default:
		return usagef("nothing to store: give flags (--entity, --severity, --message ...), a JSON object, or - to read NDJSON from stdin")
	}
	if len(alerts) == 0 {
		if len(bad) > 0 {
			return fmt.Errorf("%w: no valid line to store", backend.ErrInvalidAlert)
		}
		env.notef("no alerts on stdin")
		return nil
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	// Every alert is checked against the store's size cap before the
	// first write (putcheck.go): a chunk stored before a later chunk's
	// oversized alert would be half an input.
	if err := prepareBatch(env, alerts, lines, s.Config().MaxAlertBytes); err != nil {
		return err
	}
	const chunk = 500
	stored := 0
	for i := 0; i < len(alerts); i += chunk {
		end := min(i+chunk, len(alerts))
		if err := s.StoreBatch(ctx, alerts[i:end]); err != nil {
			reportPartial(env, lines, stored, len(alerts))
			return atLine(err, lines, i)
		}
		for _, a := range alerts[i:end] {
			fmt.Fprintln(env.stdout, a.ID())
		}
		stored = end
	}
	if len(bad) > 0 {
		return &storedSome{fmt.Errorf("%w: stored %d alerts (their ids were printed), skipped %d invalid lines (listed above)", backend.ErrInvalidAlert, stored, len(bad))}
	}
	return nil
}

// readNDJSON reads one alert per line; blank lines are ignored. Invalid
// lines are returned as errors naming the line number.
func readNDJSON(r io.Reader) ([]*backend.Alert, []int, []error, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var alerts []*backend.Alert
	var lines []int
	var bad []error
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			a, perr := backend.ParseAlert(bytes.TrimSpace(line))
			if perr != nil {
				bad = append(bad, fmt.Errorf("line %d: %w", n, perr))
			} else {
				alerts = append(alerts, a)
				lines = append(lines, n)
			}
		}
		if err == io.EOF {
			return alerts, lines, bad, nil
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading stdin: %w", err)
		}
	}
}

// filterFlags are the filters list and watch share.
type filterFlags struct {
	severity, minSeverity, entity, source string
}

func (ff *filterFlags) add(f *pflag.FlagSet) {
	f.StringVar(&ff.severity, "severity", "", "comma list of severities to keep, e.g. high,critical")
	f.StringVar(&ff.minSeverity, "min-severity", "", "keep alerts at or above this severity")
	f.StringVar(&ff.entity, "entity", "", "keep alerts about this entity")
	f.StringVar(&ff.source, "source", "", "keep alerts whose source.type is this")
}

// query turns the filters into a Query.
func (ff *filterFlags) query() (backend.Query, error) {
	return filterQuery(ff.severity, ff.minSeverity, ff.entity, ff.source)
}

// listOptions are list's flags.
type listOptions struct {
	filter        filterFlags
	limit, offset int
	cursor        string
	since, until  string
	asJSON        bool
	verified      bool
	output        *outputFlag
}

func newListCmd(env *cliEnv) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list alerts newest first, filtered (-o table|json|ndjson|csv)",
		Example: `  alertstore list --min-severity high --since 2h
  alertstore list --since 2026-11-01 --until 2026-11-02 --local
  alertstore list --entity host1 -o ndjson | jq .message`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmdList(cmd.Context(), env, cmd, &o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.limit, "limit", 20, "most alerts to print")
	f.IntVar(&o.offset, "offset", 0, "skip this many matching alerts")
	f.StringVar(&o.cursor, "cursor", "", "continue after a previous page (printed as 'next:')")
	o.filter.add(f)
	f.StringVar(&o.since, "since", "", "keep alerts at or after this time: a time ago (30m, 36h, 7d, 2w), a date (2026-11-01) or an ISO 8601 time")
	f.StringVar(&o.until, "until", "", "keep alerts before this time (same forms as --since)")
	f.BoolVar(&o.asJSON, "json", false, "the same as -o ndjson: one alert per line, the stored members and values, compacted")
	f.BoolVar(&o.verified, "verified", false, "only alerts whose signature verifies (needs sign_key_file= in the DSN)")
	o.output = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
	return cmd
}

func cmdList(ctx context.Context, env *cliEnv, cmd *cobra.Command, o *listOptions) (err error) {
	if o.asJSON {
		if cmd.Flags().Changed("output") && o.output.format != formatNDJSON {
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
	q.Limit, q.Offset, q.Cursor, q.Verified = o.limit, o.offset, o.cursor, o.verified
	now := time.Now()
	if q.Since, err = parseWhen(o.since, env.show.loc, now); err != nil {
		return usagef("--since: %v", err)
	}
	if q.Until, err = parseWhen(o.until, env.show.loc, now); err != nil {
		return usagef("--until: %v", err)
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	page, err := s.List(ctx, q)
	if err != nil {
		return err
	}
	if err := printAlerts(env.stdout, o.output.format, env.show, page.Alerts); err != nil {
		return err
	}
	reportSignatures(env, page, o.verified)
	reportPage(env.stderr, env.prefix(), page, nextHint(cmd, page.Next, q))
	return nil
}

// printAlerts prints a page of alerts in format f.
func printAlerts(w io.Writer, f string, d display, alerts []*backend.Alert) error {
	switch f {
	case formatNDJSON:
		for _, a := range alerts {
			b, err := a.MarshalJSON()
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	case formatJSON:
		raws := make([]json.RawMessage, len(alerts))
		for i, a := range alerts {
			b, err := a.MarshalJSON()
			if err != nil {
				return err
			}
			raws[i] = b
		}
		return writeJSON(w, raws, true)
	case formatCSV:
		rows := [][]string{alertCSVHeader}
		for _, a := range alerts {
			rows = append(rows, alertCSVRow(a, d))
		}
		return writeCSV(w, rows)
	}
	return printTable(w, d, alerts)
}

// alertCSVHeader names the columns of an alert in csv: the table's, and
// the type fields the table leaves out.
var alertCSVHeader = []string{"timestamp", "severity", "entity", "entity_type", "event_type", "source", "prediction_score", "message", "id"}

// alertCSVRow is an alert's csv row: its time in the display zone,
// severity in one case, the other fields as stored, unclipped and
// unescaped (encoding/csv quotes what needs it), the score's digits as
// stored.
func alertCSVRow(a *backend.Alert, d display) []string {
	score := ""
	if raw, ok := a.Get(backend.FieldScore); ok && string(raw) != "null" {
		score = string(raw)
	}
	return []string{d.timestamp(a, csvTimeLayout), d.severity(a), a.Entity(), a.EntityType(), a.EventType(), a.SourceType(), score, a.Message(), a.ID()}
}

// printTable prints alerts as a table: times in the display zone,
// severities in one case (coloured when the display says so), cells
// escaped (escapeCell) and clipped.
func printTable(w io.Writer, d display, alerts []*backend.Alert) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TIMESTAMP\t%s\tENTITY\tSOURCE\tSCORE\tMESSAGE\tID\n", d.paint("SEVERITY", backend.SeverityUnknown))
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(d.timestamp(a, tableTimeLayout)), d.paint(dash(d.severity(a)), a.Severity()), dash(clip(a.Entity(), 28)),
			dash(a.SourceType()), scoreCell(a), dash(clip(a.Message(), 60)), dash(a.ID()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(alerts) == 0 {
		fmt.Fprintln(w, "(no alerts)")
	}
	return nil
}

// scoreCell is the score to two decimals, "-" without one.
func scoreCell(a *backend.Alert) string {
	if v, ok := a.Score(); ok {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	// One line per alert, whatever the detector wrote, and nothing a
	// terminal would act on (table.go).
	return escapeCell(s)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newCountCmd(env *cliEnv) *cobra.Command {
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "count",
		Short: "print the number of stored entries",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdCount(cmd.Context(), env, out) },
	}
	out = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
	return cmd
}

// countReport is count's json, ndjson and csv shape.
type countReport struct {
	Backend string `json:"backend"`
	Count   int64  `json:"count"`
}

func cmdCount(ctx context.Context, env *cliEnv, out *outputFlag) (err error) {
	if err := out.check(); err != nil {
		return err
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	if out.is(formatTable) {
		fmt.Fprintln(env.stdout, n)
		return nil
	}
	return writeValue(env.stdout, out.format, countReport{Backend: s.Backend(), Count: n})
}

func newClearCmd(env *cliEnv) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "clear --yes",
		Short: "delete every alert of the namespace (needs --yes)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdClear(cmd.Context(), env, yes) },
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete every alert of the namespace")
	return cmd
}

func cmdClear(ctx context.Context, env *cliEnv, yes bool) (err error) {
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	if !yes {
		n, _ := s.Count(ctx)
		return usagef("clear deletes all %d entries under prefix %q of %s; run again with --yes", n, s.Config().Prefix, s.Backend())
	}
	if err := s.Clear(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "cleared prefix %q of %s\n", s.Config().Prefix, s.Backend())
	return nil
}

func newPingCmd(env *cliEnv) *cobra.Command {
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "check that the backend answers",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdPing(cmd.Context(), env, out) },
	}
	out = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
	return cmd
}

// pingReport is ping's json, ndjson and csv shape; a failed ping prints
// it too (ok false, the error), and exits as the error says.
type pingReport struct {
	Backend   string  `json:"backend"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

func cmdPing(ctx context.Context, env *cliEnv, out *outputFlag) (err error) {
	if err := out.check(); err != nil {
		return err
	}
	s, err := env.openStore(ctx, env.globals.dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	start := time.Now()
	pingErr := s.Ping(ctx)
	took := time.Since(start)
	if out.is(formatTable) {
		if pingErr != nil {
			return pingErr
		}
		fmt.Fprintf(env.stdout, "ok: %s answered in %s\n", s.Backend(), took.Round(time.Microsecond))
		return nil
	}
	r := pingReport{Backend: s.Backend(), OK: pingErr == nil, LatencyMS: float64(took.Microseconds()) / 1000}
	if pingErr != nil {
		r.Error = message(pingErr)
	}
	if err := writeValue(env.stdout, out.format, r); err != nil {
		return err
	}
	return pingErr
}

func newBackendsCmd(env *cliEnv) *cobra.Command {
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "backends",
		Short: "list the registered DSN schemes",
		Args:  maxArgs(0),
		RunE: func(*cobra.Command, []string) error {
			if err := out.check(); err != nil {
				return err
			}
			schemes := registry.Schemes()
			switch out.format {
			case formatJSON, formatNDJSON:
				rows := make([]map[string]string, len(schemes))
				for i, s := range schemes {
					rows[i] = map[string]string{"scheme": s}
				}
				if out.is(formatJSON) {
					return writeJSON(env.stdout, rows, true)
				}
				for _, r := range rows {
					if err := writeJSON(env.stdout, r, false); err != nil {
						return err
					}
				}
				return nil
			case formatCSV:
				rows := [][]string{{"scheme"}}
				for _, s := range schemes {
					rows = append(rows, []string{s})
				}
				return writeCSV(env.stdout, rows)
			}
			for _, s := range schemes {
				fmt.Fprintln(env.stdout, s)
			}
			return nil
		},
	}
	out = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
	return cmd
}

// closeInto closes s when a command returns, and makes a failed Close the
// command's error when it had none: a store may still be writing on Close
// (a bolt file's last commit), and a failure there must not exit 0.
func closeInto(err *error, s *backend.Store) {
	replayBeforeClose(s)
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
