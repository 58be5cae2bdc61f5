package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// watchBuffer is how many entries a subscription holds before its
// consumer is told it lagged (the server's own subscription has its own
// buffer, and says lagged too).
const watchBuffer = 4096

// watch opens the server's event stream of the namespace and returns once
// the server has subscribed ("ready"), so that every entry appended after
// Watch returns is delivered.
func (d *driver) watch(ctx context.Context) (backend.Subscription, error) {
	if d.closed.Load() {
		return nil, backend.ErrClosed
	}
	// The stream lives until the subscription is closed, ctx ends, or
	// the driver closes: not bounded by a call's deadline.
	sctx, cancel := context.WithCancel(d.ctx)
	stop := context.AfterFunc(ctx, cancel)
	resp, err := d.do(sctx, "GET", "/v1/driver/watch", nil, nil)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	s := &sub{cancel: cancel, stopCtx: stop, ch: make(chan item, watchBuffer), done: make(chan struct{})}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	name, _, _, err := readEvent(br)
	if err != nil || name != wire.EventReady {
		_ = resp.Body.Close()
		stop()
		cancel()
		if err == nil {
			err = fmt.Errorf("%w: the server's watch began with %q, not %q", backend.ErrUnavailable, name, wire.EventReady)
		}
		return nil, err
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(s.done)
		defer func() { _ = resp.Body.Close() }() // a read-only body: nothing to report
		s.read(sctx, br)
	}()
	return s, nil
}

type item struct {
	e   backend.Entry
	err error
}

type sub struct {
	cancel  context.CancelFunc
	stopCtx func() bool
	ch      chan item
	done    chan struct{}
	once    sync.Once
	lagged  bool  // the reader goroutine's
	endErr  error // set by the reader goroutine before done closes
}

// read turns events into items until the stream ends; an overflowing
// buffer drops entries and queues one ErrLagged, as the in-process
// drivers do.
func (s *sub) read(ctx context.Context, br *bufio.Reader) {
	push := func(it item) bool {
		select {
		case s.ch <- it:
			return true
		default:
			return false
		}
	}
	for {
		name, _, data, err := readEvent(br)
		if err != nil {
			if ctx.Err() == nil {
				s.final(item{err: fmt.Errorf("%w: the server's watch stream ended: %w", backend.ErrUnavailable, err)})
			}
			return
		}
		var it item
		switch name {
		case wire.EventEntry:
			var e wire.Entry
			if err := json.Unmarshal(data, &e); err != nil {
				s.final(item{err: fmt.Errorf("%w: a malformed watch event: %w", backend.ErrUnavailable, err)})
				return
			}
			it = item{e: backend.Entry{Pos: e.Pos, Data: e.Data}}
		case wire.EventLagged:
			it = item{err: backend.ErrLagged}
		case wire.EventError:
			var eb wire.ErrorBody
			_ = json.Unmarshal(data, &eb)
			s.final(item{err: wire.Err(503, eb.Error)})
			return
		default:
			continue
		}
		if s.lagged {
			// Dropping until the consumer took the lagged notice.
			if len(s.ch) > 0 {
				continue
			}
			s.lagged = false
			if !push(item{err: backend.ErrLagged}) {
				s.lagged = true
				continue
			}
		}
		if !push(it) {
			s.lagged = true
		}
	}
}

// final records the error that ends the stream: Next returns it once
// the entries before it are taken.
func (s *sub) final(it item) { s.endErr = it.err }

// Next returns the next entry; ErrLagged once after a gap; the stream's
// error at its end.
func (s *sub) Next(ctx context.Context) (backend.Entry, error) {
	select {
	case it := <-s.ch:
		return it.e, it.err
	case <-ctx.Done():
		return backend.Entry{}, ctx.Err()
	case <-s.done:
		select {
		case it := <-s.ch:
			return it.e, it.err
		default:
		}
		if s.endErr != nil {
			return backend.Entry{}, s.endErr
		}
		return backend.Entry{}, backend.ErrClosed
	}
}

// Close ends the stream.
func (s *sub) Close() error {
	s.once.Do(func() {
		s.stopCtx()
		s.cancel()
	})
	return nil
}

// readEvent reads one Server-Sent Event: its name, id and data (the data
// lines joined by newlines). Comments and retry lines are skipped.
func readEvent(br *bufio.Reader) (name, id string, data []byte, err error) {
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", "", nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if name == "" && lines == nil {
				continue // a comment's or retry's blank line
			}
			if name == "" {
				name = "message"
			}
			return name, id, []byte(strings.Join(lines, "\n")), nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[len("id:"):])
		case strings.HasPrefix(line, "data:"):
			lines = append(lines, strings.TrimPrefix(line[len("data:"):], " "))
		}
	}
}
