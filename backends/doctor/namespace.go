package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// signSample is how many of the newest alerts the signing check reads.
const signSample = 100

// auditShown is how many audit records the audit check names.
const auditShown = 3

// namespaceChecks reports the namespace the DSN names, read through the
// store itself (registry.Open; the program must have imported the
// scheme's backend, as the command does with backends/all), so that it
// sees what every reader sees:
//
//   - namespace: the recorded cap against the DSN's max_alerts (FAIL when
//     an explicit max_alerts is below it: every write would be refused);
//   - missing: entries missing below the cap (FAIL: something outside
//     alertstore trimmed or deleted alerts, see NamespaceInfo.Missing),
//     where the backend counts appends (Redis, Valkey);
//   - signing: whether the DSN signs and verifies (sign_key_file), and how
//     many of the newest alerts are unsigned (WARN) or do not verify
//     (FAIL);
//   - audit: the newest clear and cap changes; WARN when one of them
//     cleared entries.
//
// It reads only: NamespaceInfo and one List. (Opening a bolt file adds
// its meta bucket if it has none, which every alertstore file has.)
func (r *Report) namespaceChecks(ctx context.Context, scope, dsn string) {
	s, err := registry.Open(ctx, dsn)
	if err != nil {
		r.add(scope, "namespace", Warn, fmt.Sprintf("could not open the store to read the namespace: %v", err), "")
		return
	}
	defer func() { _ = s.Close() }()
	cfg := s.Config()
	r.checkCap(ctx, scope, s, cfg)
	r.checkSigning(ctx, scope, s, cfg)
}

func (r *Report) checkCap(ctx context.Context, scope string, s *backend.Store, cfg backend.Config) {
	info, err := s.NamespaceInfo(ctx)
	switch {
	case errors.Is(err, backend.ErrUnsupported):
		r.add(scope, "namespace", Warn, fmt.Sprintf("%s keeps no recorded cap or audit records: a writer's max_alerts alone bounds the history", s.Backend()), "")
		return
	case err != nil:
		r.add(scope, "namespace", Warn, fmt.Sprintf("could not read the namespace %q: %v", cfg.Prefix, err), "")
		return
	}
	own := fmt.Sprintf("this DSN's max_alerts is %d", cfg.MaxAlerts)
	if cfg.MaxAlertsDefault {
		own = "this DSN sets no max_alerts, so it follows the recorded cap"
	}
	switch {
	case info.Cap == 0 && info.Len > 0:
		r.add(scope, "namespace", Warn, fmt.Sprintf("%q holds %d entries but no recorded cap: only tools other than alertstore have written to it; %s", cfg.Prefix, info.Len, own),
			"the first alertstore append records its writer's max_alerts; check it is the bound you want (alertstore cap set N --yes)")
	case info.Cap == 0:
		r.add(scope, "namespace", OK, fmt.Sprintf("%q is empty and has no recorded cap yet (the first append records its writer's max_alerts); %s", cfg.Prefix, own), "")
	case !cfg.MaxAlertsDefault && cfg.MaxAlerts < info.Cap:
		r.add(scope, "namespace", Fail, fmt.Sprintf("this DSN's max_alerts=%d is below the cap %d recorded for %q: every write through it is refused", cfg.MaxAlerts, info.Cap, cfg.Prefix),
			fmt.Sprintf("leave max_alerts out of the DSN, or set it to at least %d (or lower the cap deliberately: alertstore cap set %d --yes)", info.Cap, cfg.MaxAlerts))
	default:
		r.add(scope, "namespace", OK, fmt.Sprintf("%q holds %d entries; recorded cap %d; %s", cfg.Prefix, info.Len, info.Cap, own), "")
	}
	if m := info.Missing(); m > 0 {
		r.add(scope, "missing", Fail, fmt.Sprintf("%d entries missing from %q: it holds %d, but the recorded cap is %d and %d were appended since the last clear; something outside alertstore trimmed or deleted alerts", m, cfg.Prefix, info.Len, info.Cap, info.Appended),
			"find the tool that trims the list (an old writer's own LTRIM bound?) and stop it or give it the recorded cap; grant applications only the writer and reader roles (docs/security.md)")
	} else if info.Appended >= 0 && info.Cap > 0 {
		r.add(scope, "missing", OK, fmt.Sprintf("no entries missing: %d appended since the last clear, %d kept", info.Appended, info.Len), "")
	}
	r.checkAudit(scope, info.Audit)
}

func (r *Report) checkAudit(scope string, recs []backend.AuditRecord) {
	if len(recs) == 0 {
		r.add(scope, "audit", OK, "no clear or cap change recorded", "")
		return
	}
	var parts []string
	cleared := false
	for _, rec := range recs[:min(len(recs), auditShown)] {
		what := fmt.Sprintf("cleared %d entries", rec.Entries)
		if rec.Op == backend.AuditSetCap {
			what = fmt.Sprintf("cap %d -> %d (%d entries)", rec.OldCap, rec.Cap, rec.Entries)
		} else if rec.Entries > 0 {
			cleared = true
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", rec.Time.UTC().Format(time.RFC3339), printable(rec.Client), what))
	}
	detail := fmt.Sprintf("newest %d of %d records: %s", min(len(recs), auditShown), len(recs), strings.Join(parts, "; "))
	if cleared {
		r.add(scope, "audit", Warn, detail, "a clear destroyed alerts: check that whoever did it (client name above) meant to")
		return
	}
	r.add(scope, "audit", OK, detail, "")
}

func (r *Report) checkSigning(ctx context.Context, scope string, s *backend.Store, cfg backend.Config) {
	if cfg.Sign == nil {
		r.add(scope, "signing", Warn, "this DSN has no sign_key_file: its alerts are not signed or verified, so whoever can write the list can edit or forge an alert unseen",
			"give writers, and the readers that must verify, a key file: sign_key_file= (docs/security.md, Signing alerts)")
		return
	}
	p, err := s.List(ctx, backend.Query{Limit: signSample})
	if err != nil {
		r.add(scope, "signing", Warn, fmt.Sprintf("signs with key %s, but could not read the newest alerts to verify them: %v", cfg.Sign.SigningKey(), err), "")
		return
	}
	n := len(p.Alerts)
	keys := fmt.Sprintf("signs with key %s, verifies %s", cfg.Sign.SigningKey(), strings.Join(cfg.Sign.KeyIDs(), ", "))
	switch {
	case p.Invalid > 0:
		r.add(scope, "signing", Fail, fmt.Sprintf("%s; %d of the newest %d alerts have a signature that does not verify (edited, forged, or signed with a key this DSN lacks), %d unsigned", keys, p.Invalid, n, p.Unsigned),
			"alertstore list shows them (list --verified hides them); find who wrote them, and give this DSN every key still in use")
	case p.Unsigned > 0:
		r.add(scope, "signing", Warn, fmt.Sprintf("%s; %d of the newest %d alerts are unsigned (written without sign_key_file, or forged)", keys, p.Unsigned, n),
			"give every writer the key file (sign_key_file=); readers can show only verified alerts with list --verified")
	default:
		r.add(scope, "signing", OK, fmt.Sprintf("%s; the newest %d alerts all verify", keys, n), "")
	}
}

// printable keeps a client name read from storage from steering the
// terminal: anything but printable ASCII becomes '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
