package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/registry"
	"github.com/spf13/cobra"
)

func newStatusCmd(env *cliEnv) *cobra.Command {
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "status",
		Short: "backend, health, count, capabilities, and a chain's tiers and replay (exit 6: chain degraded)",
		Args:  maxArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmdStatus(cmd.Context(), env, out) },
	}
	out = addOutputFlag(cmd, formatTable, formatJSON, formatNDJSON, formatCSV)
	return cmd
}

// statusReport is what status finds; the table and -o json, ndjson and
// csv all print it. Fields that could not be learnt (the backend is down)
// are left out of json.
type statusReport struct {
	DSN          string           `json:"dsn"`
	Backend      string           `json:"backend"`
	Prefix       string           `json:"prefix"`
	MaxAlerts    int              `json:"max_alerts"`
	Capabilities map[string]bool  `json:"capabilities"`
	Chain        *statusChain     `json:"chain,omitempty"`
	Security     []string         `json:"security_warnings"`
	Health       statusHealth     `json:"health"`
	Entries      *int64           `json:"entries,omitempty"`
	Signing      *statusSigning   `json:"signing,omitempty"`
	Namespace    *statusNamespace `json:"namespace,omitempty"`
}

type statusHealth struct {
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

type statusSigning struct {
	On      bool     `json:"on"`
	SignKey string   `json:"signing_key,omitempty"`
	Keys    []string `json:"verifies,omitempty"`
}

// statusNamespace is the record's integrity: the recorded cap, entries
// missing below it, the newest audit records. Kept is false where the
// backend keeps none of it.
type statusNamespace struct {
	Kept        bool                  `json:"kept"`
	RecordedCap int                   `json:"recorded_cap"`
	Missing     int64                 `json:"missing"`
	Stored      int64                 `json:"stored"`
	Appended    int64                 `json:"appended"`
	AuditTotal  int                   `json:"audit_records"`
	Audit       []backend.AuditRecord `json:"audit,omitempty"`
}

type statusChain struct {
	Active        string       `json:"active"`
	Degraded      bool         `json:"degraded"`
	DegradedSince *time.Time   `json:"degraded_since,omitempty"`
	Backlog       int64        `json:"backlog"`
	Replaying     bool         `json:"replaying"`
	Fallbacks     uint64       `json:"fallbacks"`
	Replayed      uint64       `json:"replayed"`
	Deduplicated  uint64       `json:"deduplicated"`
	DroppedForCap uint64       `json:"dropped_for_cap"`
	Tiers         []statusTier `json:"tiers"`
}

type statusTier struct {
	Name      string     `json:"name"`
	DSN       string     `json:"dsn"`
	State     string     `json:"state"` // healthy, down, not opened
	DownSince *time.Time `json:"down_since,omitempty"`
	MaxAlerts int        `json:"max_alerts"`
	Backlog   int64      `json:"backlog"`
	Probes    uint64     `json:"probes"`
	Lossy     bool       `json:"lossy"`
	LastError string     `json:"last_error,omitempty"`
}

func cmdStatus(ctx context.Context, env *cliEnv, out *outputFlag) (err error) {
	if err := out.check(); err != nil {
		return err
	}
	dsn, err := resolveDSN(env.globals.dsn)
	if err != nil {
		return err
	}
	s, err := env.openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	r, err := gatherStatus(ctx, s, dsn)
	if out.is(formatTable) {
		printStatus(env.stdout, r)
	} else if werr := writeValue(env.stdout, out.format, r); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if r.Chain != nil && r.Chain.Degraded {
		return errDegraded
	}
	return nil
}

// capabilityMap names each capability in lower case, for json: every
// field of backend.Capabilities, so that a new one shows without a change
// here.
func capabilityMap(c backend.Capabilities) map[string]bool {
	m := map[string]bool{}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Bool {
			m[strings.ToLower(v.Type().Field(i).Name)] = f.Bool()
		}
	}
	return m
}

// gatherStatus learns what status prints. It stops at the first failure
// after the ping (the backend went away), with what it learnt so far.
func gatherStatus(ctx context.Context, s *backend.Store, dsn string) (*statusReport, error) {
	cfg := s.Config()
	r := &statusReport{
		DSN: registry.RedactDSN(dsn), Backend: s.Backend(), Prefix: cfg.Prefix, MaxAlerts: cfg.MaxAlerts,
		Capabilities: capabilityMap(s.Capabilities()), Security: []string{},
	}
	start := time.Now()
	pingErr := s.Ping(ctx)
	r.Health.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	r.Chain = chainReport(s)
	r.Security = append(r.Security, cmdLog.warnings()...)
	if pingErr != nil {
		r.Health.Error = message(pingErr)
		return r, pingErr
	}
	r.Health.OK = true
	n, err := s.Count(ctx)
	if err != nil {
		return r, err
	}
	r.Entries = &n
	r.Signing = &statusSigning{}
	if k := cfg.Sign; k != nil {
		r.Signing = &statusSigning{On: true, SignKey: k.SigningKey(), Keys: k.KeyIDs()}
	}
	info, err := s.NamespaceInfo(ctx)
	if errors.Is(err, backend.ErrUnsupported) {
		r.Namespace = &statusNamespace{}
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Namespace = &statusNamespace{
		Kept: true, RecordedCap: info.Cap, Missing: info.Missing(), Stored: info.Len, Appended: info.Appended,
		AuditTotal: len(info.Audit), Audit: info.Audit[:min(len(info.Audit), statusAuditRecords)],
	}
	for i, a := range r.Namespace.Audit {
		r.Namespace.Audit[i].Client = sanitize(a.Client)
	}
	return r, nil
}

// chainReport is a chain's part of status; nil for other backends.
func chainReport(s *backend.Store) *statusChain {
	st, ok := chain.StatusOf(s)
	if !ok {
		return nil
	}
	c := &statusChain{
		Active: st.Active, Degraded: !st.DegradedSince.IsZero(), Backlog: st.Backlog, Replaying: st.Replaying,
		Fallbacks: st.Fallbacks, Replayed: st.Replayed, Deduplicated: st.Deduplicated, DroppedForCap: st.DroppedForCap,
		Tiers: []statusTier{},
	}
	if c.Degraded {
		t := st.DegradedSince.UTC()
		c.DegradedSince = &t
	}
	for _, t := range st.Tiers {
		tr := statusTier{Name: t.Name, DSN: t.DSN, State: "healthy", MaxAlerts: t.MaxAlerts, Backlog: t.Backlog, Probes: t.Probes, Lossy: t.Lossy, LastError: t.LastError}
		switch {
		case !t.Opened:
			tr.State = "not opened"
		case !t.Healthy:
			tr.State = "down"
			d := t.DownSince.UTC()
			tr.DownSince = &d
		}
		c.Tiers = append(c.Tiers, tr)
	}
	return c
}

// printStatus is status's table: one "name: value" line per fact.
func printStatus(w io.Writer, r *statusReport) {
	fmt.Fprintf(w, "dsn:          %s\n", r.DSN)
	fmt.Fprintf(w, "backend:      %s\n", r.Backend)
	fmt.Fprintf(w, "prefix:       %s\n", r.Prefix)
	fmt.Fprintf(w, "max_alerts:   %d\n", r.MaxAlerts)
	c := r.Capabilities
	fmt.Fprintf(w, "capabilities: watch=%t shared=%t persistent=%t durable=%t\n", c["watch"], c["shared"], c["persistent"], c["durable"])
	if r.Chain != nil {
		printChainStatus(w, r.Chain)
	}
	for _, s := range r.Security {
		fmt.Fprintf(w, "security:     WARNING %s\n", s)
	}
	if !r.Health.OK {
		fmt.Fprintf(w, "health:       DOWN (%s)\n", r.Health.Error)
		return
	}
	fmt.Fprintf(w, "health:       ok (%s)\n", (time.Duration(r.Health.LatencyMS * float64(time.Millisecond))).Round(time.Microsecond))
	if r.Entries == nil {
		return
	}
	fmt.Fprintf(w, "entries:      %d\n", *r.Entries)
	if r.Signing == nil {
		return
	}
	if r.Signing.On {
		fmt.Fprintf(w, "signing:      on, signs with key %s, verifies %s\n", r.Signing.SignKey, strings.Join(r.Signing.Keys, ", "))
	} else {
		fmt.Fprintf(w, "signing:      off (no sign_key_file)\n")
	}
	if r.Namespace != nil {
		printNamespace(w, r.Namespace)
	}
}

// printChainStatus prints a chain's tiers, degradation and replay progress.
func printChainStatus(w io.Writer, st *statusChain) {
	active := st.Active
	if active == "" {
		active = "(none: every tier is down)"
	}
	fmt.Fprintf(w, "active tier:  %s\n", active)
	if st.DegradedSince == nil {
		fmt.Fprintf(w, "degraded:     no\n")
	} else {
		fmt.Fprintf(w, "degraded:     since %s (%s)\n", st.DegradedSince.Format(time.RFC3339), time.Since(*st.DegradedSince).Round(time.Second))
	}
	fmt.Fprintf(w, "backlog:      %d entries waiting for replay (replaying: %t)\n", st.Backlog, st.Replaying)
	fmt.Fprintf(w, "counters:     fallbacks=%d replayed=%d deduplicated=%d dropped_for_cap=%d\n", st.Fallbacks, st.Replayed, st.Deduplicated, st.DroppedForCap)
	for i, t := range st.Tiers {
		state := t.State
		if t.DownSince != nil {
			state = "DOWN since " + t.DownSince.Format(time.RFC3339)
		} else if state == "not opened" {
			state = "not opened yet"
		}
		lossy := ""
		if t.Lossy {
			lossy = " [lossy: held in this process's memory, gone if it dies]"
		}
		fmt.Fprintf(w, "tier %d:       %s %s: %s, max_alerts %d, backlog %d, probes %d%s\n", i+1, t.Name, t.DSN, state, t.MaxAlerts, t.Backlog, t.Probes, lossy)
		if t.LastError != "" {
			fmt.Fprintf(w, "              last error: %s\n", t.LastError)
		}
	}
}
