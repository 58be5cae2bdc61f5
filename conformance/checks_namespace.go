package conformance

// Checks of the namespace capability: the recorded cap and audit records.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apt-detection/alertstore/backend"
)

// unsupportedNamespace checks the "not declared" direction.
func unsupportedNamespace(ctx context.Context, s *backend.Store) error {
	if _, err := s.NamespaceInfo(ctx); !errors.Is(err, backend.ErrUnsupported) {
		return fmt.Errorf("NamespaceInfo without the namespace capability = %v, want ErrUnsupported", err)
	}
	if err := s.SetCap(ctx, 10); !errors.Is(err, backend.ErrUnsupported) {
		return fmt.Errorf("SetCap without the namespace capability = %v, want ErrUnsupported", err)
	}
	return skipf("backend does not declare namespace (checked: NamespaceInfo and SetCap fail with ErrUnsupported)")
}

func checkNamespaceCap(ctx context.Context, e *Env) error {
	first, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlerts = 7 })
	if err != nil {
		return err
	}
	if !first.Capabilities().Namespace {
		return unsupportedNamespace(ctx, first)
	}
	if !first.Capabilities().Shared {
		return fmt.Errorf("the namespace capability protects a namespace several writers share: a backend that declares it must declare shared")
	}
	if err := first.StoreBatch(ctx, seq("n", 3)); err != nil {
		return err
	}
	info, err := first.NamespaceInfo(ctx)
	if err != nil {
		return err
	}
	if info.Cap != 7 || info.Len != 3 {
		return fmt.Errorf("after the first append with max_alerts 7: NamespaceInfo cap %d, len %d; want 7, 3", info.Cap, info.Len)
	}
	// A writer that did not choose a cap uses the recorded one, not the
	// default (1000).
	unset, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlertsDefault = true })
	if err != nil {
		return err
	}
	if err := unset.StoreBatch(ctx, seq("u", 10)); err != nil {
		return err
	}
	if n, err := unset.Count(ctx); err != nil || n != 7 {
		return fmt.Errorf("a writer without max_alerts stored 10 more: Count = %d, %v; want the recorded cap 7", n, err)
	}
	// A writer whose explicit cap is lower is refused and stores nothing.
	low, err := e.Open(ctx, func(c *backend.Config) { c.MaxAlerts = 2 })
	if err != nil {
		return err
	}
	err = low.Store(ctx, mk("low", "High", "test", ""))
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "2") || !strings.Contains(err.Error(), "7") {
		return fmt.Errorf("a writer with max_alerts 2 on a namespace recorded at 7: err = %v, want ErrInvalidConfig naming both values", err)
	}
	got, _, err := listAll(ctx, first, backend.Query{})
	if err != nil {
		return err
	}
	if err := equalStrings(entities(got), reversed(seq("u", 10))[:7]); err != nil {
		return fmt.Errorf("after the refused write: %v", err)
	}
	// A deliberate change lets it write, and is audited.
	if err := first.SetCap(ctx, 2); err != nil {
		return err
	}
	if err := low.Store(ctx, mk("low", "High", "test", "")); err != nil {
		return fmt.Errorf("after SetCap(2), the writer with max_alerts 2: %w", err)
	}
	if n, err := low.Count(ctx); err != nil || n != 2 {
		return fmt.Errorf("after SetCap(2) and one append: Count = %d, %v; want 2", n, err)
	}
	info, err = first.NamespaceInfo(ctx)
	if err != nil {
		return err
	}
	if info.Cap != 2 {
		return fmt.Errorf("after SetCap(2): NamespaceInfo cap %d", info.Cap)
	}
	if len(info.Audit) == 0 {
		return fmt.Errorf("SetCap left no audit record")
	}
	if r := info.Audit[0]; r.Op != backend.AuditSetCap || r.Cap != 2 || r.OldCap != 7 || r.Entries != 7 || r.Time.IsZero() || r.Client == "" {
		return fmt.Errorf("SetCap's audit record = %+v, want op %q, cap 2, old cap 7, 7 entries, a time and a client", r, backend.AuditSetCap)
	}
	if err := first.SetCap(ctx, 0); !errors.Is(err, backend.ErrInvalidConfig) {
		return fmt.Errorf("SetCap(0) = %v, want ErrInvalidConfig", err)
	}
	return nil
}

func checkClearAudited(ctx context.Context, e *Env) error {
	const client = "conformance-clearer"
	s, err := e.Open(ctx, func(c *backend.Config) { c.ClientName = client })
	if err != nil {
		return err
	}
	if err := s.StoreBatch(ctx, seq("a", 4)); err != nil {
		return err
	}
	if !s.Capabilities().Namespace {
		return unsupportedNamespace(ctx, s)
	}
	for round := 1; round <= 2; round++ {
		if err := s.Clear(ctx); err != nil {
			return err
		}
		if err := s.StoreBatch(ctx, seq("r"+strconv.Itoa(round), 2)); err != nil {
			return err
		}
	}
	info, err := s.NamespaceInfo(ctx)
	if err != nil {
		return err
	}
	if len(info.Audit) < 2 {
		return fmt.Errorf("two Clears left %d audit records, want 2", len(info.Audit))
	}
	for i, want := range []int64{2, 4} { // newest first
		r := info.Audit[i]
		if r.Op != backend.AuditClear || r.Entries != want || r.Client != client || r.Time.IsZero() {
			return fmt.Errorf("audit record %d = %+v, want op %q, %d entries, client %q, a time", i, r, backend.AuditClear, want, client)
		}
	}
	if info.Audit[0].Time.Before(info.Audit[1].Time) {
		return fmt.Errorf("audit records not newest first: %v before %v", info.Audit[0].Time, info.Audit[1].Time)
	}
	if info.Len != 2 || info.Missing() != 0 {
		return fmt.Errorf("after the Clears and 2 appends: len %d, missing %d; want 2, 0", info.Len, info.Missing())
	}
	return nil
}
