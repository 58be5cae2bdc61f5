package backend

import (
	"context"
	"fmt"
	"time"
)

// Capabilities declares a driver's optional behaviour as data, so callers
// (and the conformance suite) check features instead of probing for them.
// It is the single source of truth: each field that names an interface
// (Watch, Drop, Drain) is declared if and only if the driver implements
// that interface, and the optional operations are reached only through
// the Store (Store.Watch, Store.Drop) or, for wrappers, through WatcherOf,
// DropperOf and DrainerOf, which all check the declaration. A driver that
// implements an interface without declaring it, or the reverse, fails the
// conformance check CapabilitiesMatchInterfaces.
type Capabilities struct {
	// Watch: the driver implements Watcher and delivers every alert
	// appended after Watch returned, from any writer sharing the
	// namespace. Reached through Store.Watch.
	Watch bool
	// Shared: two drivers opened with the same DSN, in this process or
	// another, see each other's entries.
	Shared bool
	// Persistent: entries survive Close and a later open with the same DSN.
	Persistent bool
	// Durable: an acknowledged Append survives the crash of this process
	// (entries are on disk or on another machine before Append returns).
	// Durable implies Persistent. Checked by the Durable check and conformance.CrashTest.
	Durable bool
	// Drop: the driver implements Dropper. Reached through Store.Drop.
	Drop bool
	// Drain: the driver implements Drainer, so it can be a lower tier of
	// a chain (package backends/chain) that is replayed entry by entry
	// and survives a crash in the middle of a replay. Reached through
	// DrainerOf, by wrappers.
	Drain bool
	// Namespace: the driver implements NamespaceKeeper: it records the
	// namespace's cap at first use and enforces it on writers, and leaves
	// audit records of Clear and SetCap. Reached through
	// Store.NamespaceInfo and Store.SetCap.
	Namespace bool
}

// Dropper is the optional interface behind Capabilities.Drop, for drivers
// that keep bookkeeping beside the entries (a position counter). Clear
// keeps that bookkeeping so that positions, and so cursors, never go
// backwards while a namespace is in use; Drop removes the namespace
// entirely, for tools that clean up scratch namespaces (the conformance
// suite, `alertstore selftest`). Positions restart after a Drop: never
// drop a namespace that readers are paging through.
type Dropper interface {
	Drop(ctx context.Context) error
}

// Watcher is the optional interface behind Capabilities.Watch.
type Watcher interface {
	// Watch subscribes to alerts appended from now on. The subscription
	// ends when ctx is done, when it is closed, or when the driver closes.
	Watch(ctx context.Context) (Subscription, error)
}

// Subscription delivers appended entries in append order.
type Subscription interface {
	// Next blocks until the next entry, ctx is done, or the subscription
	// ends. A consumer that fell behind gets an error wrapping ErrLagged
	// once, then the stream resumes with newer entries.
	Next(ctx context.Context) (Entry, error)
	// Close ends the subscription. It is safe to call more than once.
	Close() error
}

// Drainer is the optional interface behind Capabilities.Drain: what a
// driver needs to be a crash-safe lower tier of a chain. The chain copies
// a lower tier's entries up oldest first, then removes what the upper
// tier acknowledged; killed at any point, the next replay resumes with
// nothing lost (entries are removed only after they are up) and nothing
// doubled (the chain skips ids already up). Users never call it.
type Drainer interface {
	// Oldest returns up to limit entries whose Pos is greater than after,
	// oldest first. Fewer than limit means the newest end was reached.
	Oldest(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Remove deletes every entry whose Pos is at most upTo, and no other,
	// durably before it returns when the driver is Durable. Removing
	// what is already gone is not an error. Positions of later appends
	// stay greater than every removed one.
	Remove(ctx context.Context, upTo int64) error
}

// Aser is implemented by drivers that give access to what they are built
// on (a client library's client, a status value). It is not a feature a
// caller can rely on, so it has no capability: Store.As returning false
// is its absence. Each backend's package doc lists the types its As
// supports.
type Aser interface {
	// As sets *i (i is a pointer to a supported type) and reports true,
	// or leaves i alone and reports false.
	As(i any) bool
}

// WatcherOf returns d's Watcher when d declares the watch capability and
// implements it. Wrappers (the chain) use it instead of a type assertion
// so that a declaration is what turns the feature on.
func WatcherOf(d Driver) (Watcher, bool) {
	w, ok := d.(Watcher)
	return w, ok && d.Capabilities().Watch
}

// DropperOf returns d's Dropper when d declares the drop capability and
// implements it.
func DropperOf(d Driver) (Dropper, bool) {
	dr, ok := d.(Dropper)
	return dr, ok && d.Capabilities().Drop
}

// DrainerOf returns d's Drainer when d declares the drain capability and
// implements it.
func DrainerOf(d Driver) (Drainer, bool) {
	dr, ok := d.(Drainer)
	return dr, ok && d.Capabilities().Drain
}

// CheckCapabilities reports, as an error wrapping ErrInvalidConfig, a
// driver whose declared capabilities and implemented interfaces disagree
// (one without the other), or which declares Durable without Persistent.
// The conformance suite runs it; a wrapper may run it on what it wraps.
func CheckCapabilities(d Driver) error {
	c := d.Capabilities()
	_, w := d.(Watcher)
	_, dr := d.(Dropper)
	_, dn := d.(Drainer)
	_, ns := d.(NamespaceKeeper)
	for _, p := range []struct {
		name, iface          string
		declared, implements bool
	}{
		{"watch", "Watcher", c.Watch, w},
		{"drop", "Dropper", c.Drop, dr},
		{"drain", "Drainer", c.Drain, dn},
		{"namespace", "NamespaceKeeper", c.Namespace, ns},
	} {
		switch {
		case p.declared && !p.implements:
			return fmt.Errorf("%w: driver %T declares the %s capability but does not implement backend.%s", ErrInvalidConfig, d, p.name, p.iface)
		case !p.declared && p.implements:
			return fmt.Errorf("%w: driver %T implements backend.%s but does not declare the %s capability", ErrInvalidConfig, d, p.iface, p.name)
		}
	}
	if c.Durable && !c.Persistent {
		return fmt.Errorf("%w: driver %T declares durable but not persistent", ErrInvalidConfig, d)
	}
	return nil
}

// BoundedAppender is implemented by drivers whose Append derives a
// deadline of its own anyway (the chain gives each tier it tries before
// the last its tier_timeout), or waits on nothing a deadline could cut
// short (memory: a mutex held only for copies). The Store then calls
// AppendWithin, handing over its Timeout, instead of Append under a
// context of its own carrying that Timeout, so that an append costs such
// a driver one timer, or none, instead of one more (a context with a
// deadline is a timer and its registration in the parent's; on the
// chain's write path the second one cost about a fifth of its
// throughput over its first tier, issue 10). Like Aser it declares no
// capability: it changes no behaviour a caller can see, only who sets
// the deadline.
type BoundedAppender interface {
	// AppendWithin is Append, bounded by within from its call as well
	// as by ctx (its deadline when sooner, and its cancellation): it
	// returns no later than a call of Append under
	// context.WithTimeout(ctx, within) would, with the same errors. A
	// within of 0 or less means ctx alone bounds it, as Append.
	AppendWithin(ctx context.Context, alerts [][]byte, within time.Duration) error
}
