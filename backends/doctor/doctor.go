// Package doctor checks a deployment of alertstore for what makes it
// unsafe, and says how to fix it: `alertstore doctor [--dsn DSN]` prints
// its findings, one verdict per line. Each Finding is OK, WARN (worth a
// look, not unsafe by itself) or FAIL (unsafe: alerts can be lost, read,
// forged or hidden, or the store will refuse its work); the command exits
// nonzero when any finding is FAIL.
//
// For the Redis-protocol DSNs (redis, rediss, unix, valkey, valkeys) it
// connects with its own small RESP client (internal/resp), the DSN's
// credentials and TLS settings, so it links no client library and judges
// the server, not a library's view of it. It checks: reachable and
// authenticated; TLS; whether the default user answers without a
// password; maxmemory-policy; persistence and its fsync policy;
// replication role and lag; the server version against known fixed
// vulnerabilities (versions.go); the connecting user's rights against the
// writer and reader roles (redislist.WriterCommands, ReaderCommands). The
// namespace, missing, signing and audit checks (namespaceChecks, also for
// bolt files) read through the store itself, opened with registry.Open:
// the program must import the scheme's backend (the command imports
// backends/all), or they report that they could not open it. A server check that needs a right the
// DSN's user lacks (INFO, CONFIG GET: the roles have neither) is a WARN
// saying so: run doctor once with the application's DSN (for the user's
// rights) and once with an operator's (for the server's settings).
//
// For bolt:// it checks the file's mode, for mem:// that nothing
// survives the process, and for chain:// every tier in turn. Sentinel
// DSNs get a WARN: check each node with a redis:// DSN.
package doctor

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// Verdict is a finding's severity.
type Verdict int

// The verdicts, in increasing severity.
const (
	OK Verdict = iota
	Warn
	Fail
)

func (v Verdict) String() string {
	switch v {
	case OK:
		return "OK"
	case Warn:
		return "WARN"
	}
	return "FAIL"
}

// Finding is one check's verdict.
type Finding struct {
	// Scope names what was checked: "" for the DSN itself, "tier 1" ...
	// for a chain's tiers.
	Scope string
	// Check is the check's stable name ("reachable", "tls",
	// "default-user", "eviction", "persistence", "replication",
	// "version", "permissions", "namespace", "missing", "signing",
	// "audit", "file", "memory", "sentinel", "cluster").
	Check   string
	Verdict Verdict
	// Detail explains what was found; Fix, for WARN and FAIL, what to do.
	Detail, Fix string
}

// String is the finding's line: "FAIL  [tier 1] eviction: ... Fix: ...".
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s  ", f.Verdict)
	if f.Scope != "" {
		fmt.Fprintf(&b, "[%s] ", f.Scope)
	}
	fmt.Fprintf(&b, "%s: %s", f.Check, f.Detail)
	if f.Fix != "" && f.Verdict != OK {
		fmt.Fprintf(&b, " Fix: %s", f.Fix)
	}
	return b.String()
}

// Report is every finding of a run.
type Report struct {
	Findings []Finding
}

// Unsafe reports whether any finding is FAIL.
func (r *Report) Unsafe() bool {
	for _, f := range r.Findings {
		if f.Verdict == Fail {
			return true
		}
	}
	return false
}

// Find returns the first finding of check in scope.
func (r *Report) Find(scope, check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Scope == scope && f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// Print writes one line per finding.
func (r *Report) Print(w io.Writer) {
	for _, f := range r.Findings {
		fmt.Fprintln(w, f)
	}
}

func (r *Report) add(scope, check string, v Verdict, detail, fix string) {
	r.Findings = append(r.Findings, Finding{Scope: scope, Check: check, Verdict: v, Detail: detail, Fix: fix})
}

// Run checks the deployment dsn names. It returns an error (wrapping
// backend.ErrInvalidConfig) only for a DSN it cannot parse; everything it
// finds, a server that does not answer included, is in the Report.
func Run(ctx context.Context, dsn string) (*Report, error) {
	r := &Report{}
	if err := r.check(ctx, dsn, "", 0); err != nil {
		return nil, err
	}
	return r, nil
}

// maxDepth bounds chains of chains.
const maxDepth = 4

func (r *Report) check(ctx context.Context, dsn, scope string, depth int) error {
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		return err
	}
	// The store (namespaceChecks) reads sign_key_file; the server and
	// file checks parse the DSN as a driver would, where it is unknown.
	full := dsn
	if d.Has(registry.SignKeyParam) && d.Scheme() != "chain" {
		u := d.URL()
		q := u.Query()
		q.Del(registry.SignKeyParam)
		u.RawQuery = q.Encode()
		dsn = u.String()
		if d, err = registry.ParseDSN(dsn); err != nil {
			return err
		}
	}
	switch d.Scheme() {
	case "redis", "valkey", "unix", "rediss", "valkeys":
		return r.checkRedis(ctx, full, d, scope)
	case "redis+sentinel", "valkey+sentinel":
		r.add(scope, "sentinel", Warn, "doctor does not check a Sentinel topology as a whole yet",
			"run alertstore doctor against the master and each replica with a redis:// DSN (same credentials and TLS parameters)")
		return nil
	case "redis+cluster", "valkey+cluster":
		r.add(scope, "cluster", Warn, "doctor does not check a Redis or Valkey Cluster as a whole yet",
			"run alertstore doctor against each master with a redis:// DSN (same credentials and TLS parameters); in a cluster the list keeps its name and the other keys carry it as a hash tag ({<prefix>alerts}:seq), see docs/dsn.md")
		return nil
	case "bolt":
		return r.checkBolt(ctx, dsn, full, scope)
	case "mem", "memory":
		r.add(scope, "memory", Warn, "alerts are kept in this process's memory only: every alert is lost when it exits",
			"use redis://, valkey:// or bolt:// for alerts that must be kept")
		return nil
	case "chain":
		if depth >= maxDepth {
			return fmt.Errorf("%w: doctor: chains nested more than %d deep", backend.ErrInvalidConfig, maxDepth)
		}
		tiers := d.URL().Query()["tier"]
		if len(tiers) == 0 {
			return fmt.Errorf("%w: doctor: %s: no tier", backend.ErrInvalidConfig, d)
		}
		for i, t := range tiers {
			s := fmt.Sprintf("tier %d", i+1)
			if scope != "" {
				s = scope + " " + s
			}
			if err := r.check(ctx, t, s, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	r.add(scope, "backend", Warn, fmt.Sprintf("doctor has no checks for the %s:// scheme", d.Scheme()), "check its own documentation")
	return nil
}
