package backend

import (
	"fmt"
	"strings"
)

// Namespace is one place a store writes to: for tools that must write,
// clear or drop only a namespace they made (`alertstore demo`,
// `alertstore selftest`, the conformance suite), and so must know where
// every tier of a wrapper really writes before their first write.
type Namespace struct {
	// Tier says where the namespace is inside a wrapper, outermost tier
	// first ("tier 1 (redis)", "tier 2 (chain) / tier 1 (bolt)"); "" for
	// a backend's own namespace. It never holds a DSN.
	Tier string
	// Prefix is the prefix the driver really writes under.
	Prefix string
}

func (n Namespace) String() string {
	if n.Tier == "" {
		return fmt.Sprintf("prefix %q", n.Prefix)
	}
	return fmt.Sprintf("%s: prefix %q", n.Tier, n.Prefix)
}

// Namespacer is implemented by drivers that report the namespaces they
// write to. A wrapper (the chain) must implement it, reporting each of
// its tiers' (through NamespacesOf, so that a tier that is itself a
// wrapper answers for its own tiers); a plain driver implements it to
// report the prefix it really uses rather than the one it was asked for.
// Like Aser it declares no capability: its absence means "one namespace,
// the Config.Prefix the driver was opened with".
type Namespacer interface {
	// Namespaces lists every namespace the driver writes to; it does no
	// I/O and never returns an empty list.
	Namespaces() []Namespace
}

// NamespacesOf returns d's namespaces: what d reports when it implements
// Namespacer, else one namespace with prefix, the one d was opened with.
func NamespacesOf(d Driver, prefix string) []Namespace {
	if n, ok := d.(Namespacer); ok {
		if ns := n.Namespaces(); len(ns) > 0 {
			return ns
		}
	}
	return []Namespace{{Prefix: prefix}}
}

// CheckNamespaces returns nil when every namespace of ns has the prefix
// want, else an error wrapping ErrInvalidConfig that names the first one
// that does not (its tier and prefix, never a DSN). Tools that write to a
// scratch namespace call it, through Store.RequireNamespace, before their
// first write.
func CheckNamespaces(ns []Namespace, want string) error {
	for _, n := range ns {
		if n.Prefix == want {
			continue
		}
		where := "the store"
		if n.Tier != "" {
			where = n.Tier
		}
		return fmt.Errorf("%w: %s writes under prefix %q, not the scratch namespace %q: refusing to write, clear or drop a namespace this tool did not create (a tier that sets its own prefix keeps it; remove prefix= from that tier)",
			ErrInvalidConfig, where, n.Prefix, want)
	}
	return nil
}

// Namespaces lists every namespace the store writes to: its driver's
// (NamespacesOf), one per tier of a wrapper.
func (s *Store) Namespaces() []Namespace { return NamespacesOf(s.drv, s.cfg.Prefix) }

// RequireNamespace returns nil when every namespace the store writes to
// has the prefix want, and otherwise an error wrapping ErrInvalidConfig
// naming the namespace (and tier) that differs. It does no I/O.
func (s *Store) RequireNamespace(want string) error {
	if err := CheckNamespaces(s.Namespaces(), want); err != nil {
		return s.wrap("open", err)
	}
	return nil
}

// TierNamespaces prefixes the Tier of each of ns (a wrapped driver's
// namespaces) with label, the wrapper's name for that tier: for a
// wrapper's Namespaces.
func TierNamespaces(label string, ns []Namespace) []Namespace {
	out := make([]Namespace, len(ns))
	for i, n := range ns {
		t := label
		if n.Tier != "" {
			t = strings.Join([]string{label, n.Tier}, " / ")
		}
		out[i] = Namespace{Tier: t, Prefix: n.Prefix}
	}
	return out
}
