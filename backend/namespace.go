package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// NamespaceKeeper is the optional interface behind Capabilities.Namespace:
// a driver that keeps a record beside its namespace's entries, so that one
// misconfigured writer cannot trim everybody's history and a deliberate
// change leaves a trace. A driver that declares it promises:
//
//   - The namespace's cap is recorded at its first append: the writer's
//     MaxAlerts. Later writers whose Config.MaxAlertsDefault is set (no
//     max_alerts= in their DSN) trim to the recorded cap; a writer whose
//     explicit MaxAlerts is below it is refused, before anything is
//     written, with an error wrapping ErrInvalidConfig that names both
//     values (CapError). Only SetCap changes the recorded cap.
//   - Clear and SetCap each leave an AuditRecord (when, Config.ClientName,
//     how many entries) beside the entries; at least the newest
//     AuditKeep are kept.
//
// Users reach it through Store.NamespaceInfo and Store.SetCap.
type NamespaceKeeper interface {
	// NamespaceInfo reads the record: the recorded cap, the entries now,
	// how many were appended since the last Clear where the backend
	// tracks it, and the newest audit records.
	NamespaceInfo(ctx context.Context) (NamespaceInfo, error)
	// SetCap records n (1..MaxMaxAlerts) as the namespace's cap and
	// leaves an audit record. It trims nothing itself: the next append
	// trims to the new cap.
	SetCap(ctx context.Context, n int) error
}

// NamespaceKeeperOf returns d's NamespaceKeeper when d declares the
// namespace capability and implements it.
func NamespaceKeeperOf(d Driver) (NamespaceKeeper, bool) {
	k, ok := d.(NamespaceKeeper)
	return k, ok && d.Capabilities().Namespace
}

// AuditKeep is how many audit records a namespace keeps at least; older
// ones are dropped.
const AuditKeep = 100

// Audit operations.
const (
	AuditClear  = "clear"
	AuditSetCap = "cap"
)

// AuditRecord is one deliberate change to a namespace.
type AuditRecord struct {
	// Time is when it happened (the writer's clock, UTC).
	Time time.Time `json:"time"`
	// Op is AuditClear or AuditSetCap.
	Op string `json:"op"`
	// Client is the Config.ClientName of the store that did it.
	Client string `json:"client"`
	// Entries is how many entries the namespace held just before.
	Entries int64 `json:"entries"`
	// Cap is the new cap (AuditSetCap), OldCap the one it replaced (0:
	// none was recorded).
	Cap    int `json:"cap,omitempty"`
	OldCap int `json:"old_cap,omitempty"`
}

// NamespaceInfo is what Store.NamespaceInfo reports.
type NamespaceInfo struct {
	// Cap is the recorded cap; 0 when nothing was appended yet.
	Cap int
	// Len is the number of entries now (Count).
	Len int64
	// Appended is how many entries were appended since the namespace was
	// created or last cleared, by anybody the backend can count (the
	// Redis layout: alertstore's position counter, raised by entries
	// pushed by other tools); -1 where the backend has no other writers
	// to watch for (bolt, mem).
	Appended int64
	// Audit holds the newest audit records, newest first.
	Audit []AuditRecord
}

// Missing is how many entries the namespace should hold but does not:
// fewer than both the recorded cap and what was appended since the last
// Clear. Something outside alertstore removed them (an old tool that
// LTRIMs with its own, smaller bound, or a hand-made DEL/LTRIM). 0 when
// nothing is missing or the backend does not track appends.
func (n NamespaceInfo) Missing() int64 {
	if n.Appended < 0 || n.Cap <= 0 {
		return 0
	}
	want := min(int64(n.Cap), n.Appended)
	return max(want-n.Len, 0)
}

// CapError is the refusal of a writer whose explicit cap is below the
// namespace's recorded one: it would trim everybody's history to its own
// bound. It wraps ErrInvalidConfig.
type CapError struct {
	Prefix   string
	Explicit int // the writer's max_alerts
	Recorded int // the namespace's cap
}

func (e *CapError) Error() string {
	return fmt.Sprintf("%v: max_alerts=%d is below the cap %d recorded for namespace %q: this writer would trim every reader's history to %d entries; "+
		"leave max_alerts unset to use the recorded cap, set it to at least %d, or change the namespace's cap deliberately (alertstore cap set %d --yes)",
		ErrInvalidConfig, e.Explicit, e.Recorded, e.Prefix, e.Explicit, e.Recorded, e.Explicit)
}

func (e *CapError) Unwrap() error { return ErrInvalidConfig }

// CheckCap is the rule every NamespaceKeeper applies at an append: given
// the writer's configuration and the recorded cap (> 0), it returns the
// cap to trim to, or a *CapError.
func CheckCap(cfg Config, recorded int) (int, error) {
	own := cfg.MaxAlerts
	if own <= 0 || cfg.MaxAlertsDefault {
		return recorded, nil
	}
	if own < recorded {
		return 0, &CapError{Prefix: cfg.Prefix, Explicit: own, Recorded: recorded}
	}
	return own, nil
}

// CheckCapValue reports a cap outside 1..MaxMaxAlerts.
func CheckCapValue(n int) error {
	if n < 1 || n > MaxMaxAlerts {
		return fmt.Errorf("%w: cap %d is out of range [1, %d]", ErrInvalidConfig, n, MaxMaxAlerts)
	}
	return nil
}

// ClientNameOf is cfg.ClientName, or DefaultClientName() when empty.
func ClientNameOf(cfg Config) string {
	if cfg.ClientName != "" {
		return cfg.ClientName
	}
	return DefaultClientName()
}

// DefaultClientName names this process in audit records: the program's
// base name, the host and the process id ("alertstore@ids-01/4242").
func DefaultClientName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	prog := "unknown"
	if len(os.Args) > 0 && os.Args[0] != "" {
		prog = filepath.Base(os.Args[0])
	}
	return fmt.Sprintf("%s@%s/%d", prog, host, os.Getpid())
}

// NamespaceInfo reads the namespace's record (see NamespaceKeeper): the
// recorded cap, the entries now, whether some are missing, the newest
// audit records. It returns an error wrapping ErrUnsupported when
// Capabilities().Namespace is false.
func (s *Store) NamespaceInfo(ctx context.Context) (NamespaceInfo, error) {
	k, err := s.keeper("namespace")
	if err != nil {
		return NamespaceInfo{}, err
	}
	ctx, cancel, err := s.begin(ctx, "namespace")
	if err != nil {
		return NamespaceInfo{}, err
	}
	defer cancel()
	info, err := k.NamespaceInfo(ctx)
	return info, s.wrap("namespace", err)
}

// SetCap changes the namespace's recorded cap deliberately and leaves an
// audit record. Lowering it drops the oldest entries beyond the new cap
// at the next append. It returns an error wrapping ErrUnsupported when
// Capabilities().Namespace is false.
func (s *Store) SetCap(ctx context.Context, n int) error {
	k, err := s.keeper("set cap")
	if err != nil {
		return err
	}
	if err := CheckCapValue(n); err != nil {
		return s.wrap("set cap", err)
	}
	ctx, cancel, err := s.begin(ctx, "set cap")
	if err != nil {
		return err
	}
	defer cancel()
	return s.wrap("set cap", k.SetCap(ctx, n))
}

func (s *Store) keeper(op string) (NamespaceKeeper, error) {
	if s.closed.Load() {
		return nil, s.wrap(op, ErrClosed)
	}
	k, ok := NamespaceKeeperOf(s.drv)
	if !ok {
		return nil, s.wrap(op, fmt.Errorf("%w: backend %s does not declare namespace (no recorded cap, no audit records)", ErrUnsupported, s.name))
	}
	return k, nil
}

// IsCapError reports whether err is a writer's refusal by the recorded cap.
func IsCapError(err error) bool {
	var ce *CapError
	return errors.As(err, &ce)
}
