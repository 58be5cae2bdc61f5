package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

const envDSN = registry.EnvDSN

var (
	errHelp         = errors.New("help shown")
	errChecksFailed = errors.New("checks failed")
)

// newFlags makes a command's flag set with the shared --dsn flag.
func newFlags(env *cliEnv, name, args string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(scrubWriter{env.stderr})
	dsn := fs.String("dsn", "", "data source name (default $"+envDSN+", else the embedded store)")
	fs.StringVar(&env.logLevel, "log-level", "off", "log the backends' records on stderr at this level: off, debug, info, warn, error")
	fs.StringVar(&env.logFormat, "log-format", "text", "with --log-level: text or json")
	budget, err := time.ParseDuration(replayBudgetDefault())
	if err != nil || budget < 0 {
		budget = -1 // a bad $ALERTSTORE_REPLAY_BUDGET: openStore refuses it
	}
	env.replayBudget = budget
	fs.Func("replay-budget", "how long to replay a chain's backlog before exiting; 0: not at all (default $"+envReplayBudget+", else "+defaultReplayBudget.String()+")", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 3s, or 0")
		}
		env.replayBudget = d
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: alertstore %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs, dsn
}

// parseFlags parses a command's flags and refuses positional arguments it
// does not take (checkArgs).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	return checkArgs(fs)
}

// parseFlagsOnly parses flags and leaves the positional arguments to the
// caller, for a command with subcommands whose flags may follow them.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%s", scrub(err.Error()))
	}
	return nil
}

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
	if env.replayBudget < 0 {
		return nil, usagef("$%s: want a duration such as 3s, or 0", envReplayBudget)
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

func cmdPut(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "put", "[flags] | put '<json>' | put -")
	entity := fs.String("entity", "", "entity the alert is about (host, user, address)")
	entityType := fs.String("entity-type", "", "entity type, e.g. host or user")
	eventType := fs.String("event-type", "", "event type, e.g. lateral_movement")
	severity := fs.String("severity", "", "info, low, medium, high or critical")
	message := fs.String("message", "", "human-readable summary")
	score := fs.String("score", "", "prediction_score, a number")
	source := fs.String("source", "", "source.type, e.g. kafka")
	ts := fs.String("timestamp", "", "ISO 8601 timestamp (default now, UTC)")
	id := fs.String("id", "", "alert id (default a fresh UUIDv7)")
	var fields multiFlag
	fs.Var(&fields, "field", "extra field as key=JSON (repeatable), e.g. --field 'features={\"n\":3}'")
	skipInvalid := fs.Bool("skip-invalid", false, "with put --atomic -: store the valid lines and report the invalid ones (exit 4) instead of storing none (streaming always does)")
	sf := addStreamFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if err := sf.check(fs, rest, *skipInvalid); err != nil {
		return err
	}
	if len(rest) == 1 && rest[0] == "-" && !sf.atomic {
		return putStream(ctx, env, *dsn, sf)
	}
	if len(rest) > 1 {
		return usagef("put takes at most one argument (a JSON object, or - for stdin), got %d", len(rest))
	}
	fromFlags := *entity != "" || *severity != "" || *message != "" || *eventType != "" || len(fields) > 0
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
			fmt.Fprintf(env.stderr, "alertstore put: %v\n", e)
		}
		if len(bad) > 0 && !*skipInvalid {
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
			set(a.SetID, *id), set(a.SetEntity, *entity), set(a.SetEntityType, *entityType), set(a.SetEventType, *eventType),
			set(func(v string) error { return a.Set(backend.FieldTimestamp, v) }, *ts),
			set(func(v string) error { return a.Set(backend.FieldSeverity, v) }, *severity),
			set(a.SetSourceType, *source), set(a.SetMessage, *message),
			set(func(v string) error { return a.Set(backend.FieldScore, json.RawMessage(v)) }, *score),
		} {
			if step != nil {
				return step
			}
		}
		for _, f := range fields {
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
		fmt.Fprintln(env.stderr, "alertstore put: no alerts on stdin")
		return nil
	}
	s, err := env.openStore(ctx, *dsn)
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

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdList(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "list", "[flags]")
	limit := fs.Int("limit", 20, "most alerts to print")
	offset := fs.Int("offset", 0, "skip this many matching alerts")
	cursor := fs.String("cursor", "", "continue after a previous page (printed as 'next:')")
	sev := fs.String("severity", "", "comma list of severities to keep, e.g. high,critical")
	minSev := fs.String("min-severity", "", "keep alerts at or above this severity")
	entity := fs.String("entity", "", "keep alerts about this entity")
	source := fs.String("source", "", "keep alerts whose source.type is this")
	since := fs.String("since", "", "keep alerts at or after this time (ISO 8601, or a duration ago such as 2h)")
	until := fs.String("until", "", "keep alerts before this time (ISO 8601, or a duration ago)")
	asJSON := fs.Bool("json", false, "print NDJSON, one alert per line: the stored members and values, compacted (no insignificant white space)")
	verified := fs.Bool("verified", false, "only alerts whose signature verifies (needs sign_key_file= in the DSN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q := backend.Query{Limit: *limit, Offset: *offset, Cursor: *cursor, Entity: *entity, SourceType: *source, Verified: *verified}
	if *sev != "" {
		for _, w := range strings.Split(*sev, ",") {
			s, err := backend.ParseSeverity(w)
			if err != nil {
				return usagef("--severity: %v", err)
			}
			q.Severities = append(q.Severities, s)
		}
	}
	if *minSev != "" {
		s, err := backend.ParseSeverity(*minSev)
		if err != nil {
			return usagef("--min-severity: %v", err)
		}
		q.MinSeverity = s
	}
	if q.Since, err = parseWhen(*since); err != nil {
		return usagef("--since: %v", err)
	}
	if q.Until, err = parseWhen(*until); err != nil {
		return usagef("--until: %v", err)
	}
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	page, err := s.List(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		for _, a := range page.Alerts {
			b, _ := a.MarshalJSON()
			fmt.Fprintf(env.stdout, "%s\n", b)
		}
	} else if err := printTable(env.stdout, page.Alerts); err != nil {
		return err
	}
	reportSignatures(env, page, *verified)
	reportPage(env.stderr, page)
	return nil
}

// parseWhen reads an ISO 8601 time or a duration ago ("90m", "2h").
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("duration %s is negative; give how long ago, e.g. 2h", s)
		}
		return time.Now().Add(-d), nil
	}
	t, err := backend.ParseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a time (2025-03-01T12:00:00) nor a duration ago (2h)", s)
	}
	return t, nil
}

func printTable(w io.Writer, alerts []*backend.Alert) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIMESTAMP\tSEVERITY\tENTITY\tSOURCE\tSCORE\tMESSAGE\tID")
	for _, a := range alerts {
		score := "-"
		if v, ok := a.Score(); ok {
			score = strconv.FormatFloat(v, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(a.TimestampString()), dash(a.SeverityString()), dash(clip(a.Entity(), 28)),
			dash(a.SourceType()), score, dash(clip(a.Message(), 60)), dash(a.ID()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(alerts) == 0 {
		fmt.Fprintln(w, "(no alerts)")
	}
	return nil
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

func cmdCount(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "count", "[--dsn DSN]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	n, err := s.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, n)
	return nil
}

func cmdClear(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "clear", "--yes [--dsn DSN]")
	yes := fs.Bool("yes", false, "really delete every alert of the namespace")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	if !*yes {
		n, _ := s.Count(ctx)
		return usagef("clear deletes all %d entries under prefix %q of %s; run again with --yes", n, s.Config().Prefix, s.Backend())
	}
	if err := s.Clear(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "cleared prefix %q of %s\n", s.Config().Prefix, s.Backend())
	return nil
}

func cmdPing(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs, dsn := newFlags(env, "ping", "[--dsn DSN]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := env.openStore(ctx, *dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	start := time.Now()
	if err := s.Ping(ctx); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ok: %s answered in %s\n", s.Backend(), time.Since(start).Round(time.Microsecond))
	return nil
}

func cmdBackends(ctx context.Context, env *cliEnv, args []string) error {
	fs, _ := newFlags(env, "backends", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, s := range registry.Schemes() {
		fmt.Fprintln(env.stdout, s)
	}
	return nil
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
