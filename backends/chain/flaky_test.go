package chain_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apt-detection/alertstore/backend"
)

// mode is what a flaky driver does with calls.
type mode int32

const (
	up        mode = iota
	down           // fails at once with ErrUnavailable, like a stopped server
	frozen         // blocks until the call's deadline, like a paused container
	untrusted      // fails at once with ErrSecurity, like a certificate that does not verify
)

// flaky is a controllable test driver around a real one: it can be taken
// down, frozen, or made to apply writes and then report a timeout (the
// ambiguous failure of a server that answered too late).
type flaky struct {
	inner backend.Driver
	caps  backend.Capabilities

	mode      atomic.Int32
	ambiguous atomic.Bool

	pings, appends, scans atomic.Int64

	mu     sync.Mutex
	broken chan struct{} // closed when the driver goes down: breaks watches
}

func newFlaky(inner backend.Driver, caps backend.Capabilities, m mode) *flaky {
	f := &flaky{inner: inner, caps: caps, broken: make(chan struct{})}
	f.set(m)
	return f
}

func (f *flaky) set(m mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := mode(f.mode.Swap(int32(m)))
	if m != up && old == up {
		close(f.broken)
	}
	if m == up && old != up {
		f.broken = make(chan struct{})
	}
}

func (f *flaky) gate(ctx context.Context) error {
	switch mode(f.mode.Load()) {
	case down:
		return fmt.Errorf("%w: flaky: connection refused", backend.ErrUnavailable)
	case untrusted:
		return fmt.Errorf("%w: flaky: TLS: x509: certificate signed by unknown authority", backend.ErrSecurity)
	case frozen:
		<-ctx.Done()
		return fmt.Errorf("%w: flaky: frozen: %w", backend.ErrUnavailable, ctx.Err())
	}
	return nil
}

func (f *flaky) Append(ctx context.Context, alerts [][]byte) error {
	f.appends.Add(1)
	if err := f.gate(ctx); err != nil {
		return err
	}
	if err := f.inner.Append(ctx, alerts); err != nil {
		return err
	}
	if f.ambiguous.Load() {
		return fmt.Errorf("%w: flaky: applied, but the reply came too late", backend.ErrUnavailable)
	}
	return nil
}

func (f *flaky) Scan(ctx context.Context, before int64, limit int) ([]backend.Entry, error) {
	f.scans.Add(1)
	if err := f.gate(ctx); err != nil {
		return nil, err
	}
	return f.inner.Scan(ctx, before, limit)
}

func (f *flaky) Count(ctx context.Context) (int64, error) {
	if err := f.gate(ctx); err != nil {
		return 0, err
	}
	return f.inner.Count(ctx)
}

func (f *flaky) Clear(ctx context.Context) error {
	if err := f.gate(ctx); err != nil {
		return err
	}
	return f.inner.Clear(ctx)
}

func (f *flaky) Ping(ctx context.Context) error {
	f.pings.Add(1)
	if err := f.gate(ctx); err != nil {
		return err
	}
	return f.inner.Ping(ctx)
}

func (f *flaky) Capabilities() backend.Capabilities { return f.caps }

func (f *flaky) Close() error { return f.inner.Close() }

// droppable is a flaky driver that also implements backend.Dropper.
type droppable struct{ *flaky }

func (d droppable) Drop(ctx context.Context) error {
	if err := d.gate(ctx); err != nil {
		return err
	}
	return d.inner.(backend.Dropper).Drop(ctx)
}

func (f *flaky) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := f.gate(ctx); err != nil {
		return nil, err
	}
	sub, err := f.inner.(backend.Watcher).Watch(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	broken := f.broken
	f.mu.Unlock()
	return &flakySub{inner: sub, broken: broken}, nil
}

// flakySub breaks, like a dropped connection, when its driver goes down.
type flakySub struct {
	inner  backend.Subscription
	broken chan struct{}
}

func (s *flakySub) Next(ctx context.Context) (backend.Entry, error) {
	select {
	case <-s.broken:
		return backend.Entry{}, fmt.Errorf("%w: flaky: subscription dropped", backend.ErrUnavailable)
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.broken:
			cancel()
		case <-ctx.Done():
		}
	}()
	e, err := s.inner.Next(ctx)
	select {
	case <-s.broken:
		if err != nil {
			return backend.Entry{}, fmt.Errorf("%w: flaky: subscription dropped", backend.ErrUnavailable)
		}
	default:
	}
	return e, err
}

func (s *flakySub) Close() error { return s.inner.Close() }
