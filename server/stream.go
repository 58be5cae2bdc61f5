package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// The public stream: GET /v1/stream, Server-Sent Events of new alerts
// matching the list filters. Each event's id is a resume token; a client
// that reconnects with it (Last-Event-ID, or ?last_event_id=) first gets
// the matching alerts stored after that one, then the live ones, with no
// gap and no repeat: the server subscribes before it reads what is
// stored, and skips the overlap by id, as `alertstore watch --since-id`
// does. When the store's watch falls behind it catches up the same way.

// resumeToken is the event id of alert id: opaque, and safe on an SSE
// line whatever the id holds.
func resumeToken(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func parseResumeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("%w: Last-Event-ID %q is not a resume token of this server", backend.ErrInvalidQuery, tok)
	}
	return string(b), nil
}

// sse writes events and comments, flushing after each write the caller
// marks.
type sse struct {
	w  *bufio.Writer
	fl http.Flusher
}

func (e *sse) event(name, id string, data []byte) error {
	if id != "" {
		fmt.Fprintf(e.w, "id: %s\n", id)
	}
	fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", name, data)
	return nil
}

func (e *sse) comment(text string) { fmt.Fprintf(e.w, ": %s\n\n", text) }

func (e *sse) flush() error {
	if err := e.w.Flush(); err != nil {
		return err
	}
	e.fl.Flush()
	return nil
}

// startSSE sends the stream's headers.
func startSSE(w http.ResponseWriter) (*sse, error) {
	fl, ok := w.(http.Flusher)
	if !ok {
		return nil, errors.New("the connection cannot stream")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not buffer it
	w.WriteHeader(http.StatusOK)
	e := &sse{w: bufio.NewWriterSize(w, 32<<10), fl: fl}
	fmt.Fprintf(e.w, "retry: 2000\n\n")
	return e, e.flush()
}

// pump runs w.Next in its own goroutine, so that the stream can send
// keepalives while it waits; it ends at the first error, which it sends.
func pump(ctx context.Context, next func(context.Context) (*backend.Alert, error)) <-chan pumped {
	ch := make(chan pumped, 256)
	go func() {
		defer close(ch)
		for {
			a, err := next(ctx)
			select {
			case ch <- pumped{a, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

type pumped struct {
	a   *backend.Alert
	err error
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q, err := parseFilters(qv, time.Now(), "last_event_id")
	if err == nil && q.Verified {
		err = fmt.Errorf("%w: the stream does not filter by signature; list with verified=true instead", backend.ErrInvalidQuery)
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	last := ""
	if tok := r.Header.Get("Last-Event-ID"); tok != "" {
		last, err = parseResumeToken(tok)
	} else if tok := qv.Get("last_event_id"); tok != "" {
		last, err = parseResumeToken(tok)
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	ctx, cancel := s.ctxStopping(r.Context())
	defer cancel()
	watch, err := s.store.Watch(ctx)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	out, err := startSSE(w)
	if err != nil {
		_ = watch.Close()
		writeError(w, http.StatusInternalServerError, wire.CodeInternal, err.Error())
		return
	}
	if m := s.opts.Metrics; m != nil {
		m.subscribers.Inc()
		defer m.subscribers.Dec()
	}
	keep := time.NewTicker(s.opts.Keepalive)
	defer keep.Stop()
	emit := func(a *backend.Alert) error {
		b, _ := a.MarshalJSON()
		last = a.ID()
		return out.event("alert", resumeToken(a.ID()), b)
	}
	for {
		// Subscribed (watch) before reading what is stored: nothing
		// stored in between is missed; the overlap is skipped by id.
		seen := map[string]bool{}
		if last != "" {
			newer, found, err := s.alertsAfter(ctx, last)
			if err != nil {
				_ = watch.Close()
				s.endStream(out, err)
				return
			}
			if !found {
				msg, _ := json.Marshal(wire.ErrorBody{Error: wire.ErrorInfo{Code: wire.CodeResumeGone,
					Message: "the alert to resume after is no longer stored (trimmed by the cap): alerts between it and the oldest stored one may be missing; what is stored follows, oldest first"}})
				_ = out.event("gap", "", msg)
			}
			for _, a := range newer {
				if !q.Match(a) {
					continue
				}
				seen[a.ID()] = true
				_ = emit(a)
			}
		}
		if err := out.flush(); err != nil {
			_ = watch.Close()
			return
		}
		err := s.follow(ctx, out, pump(ctx, watch.Next), keep, q, seen, emit)
		_ = watch.Close()
		if !errors.Is(err, backend.ErrLagged) {
			if ctx.Err() == nil && err != nil {
				s.endStream(out, err)
			}
			return
		}
		// Fell behind: subscribe again and catch up from the last alert
		// sent.
		if watch, err = s.store.Watch(ctx); err != nil {
			s.endStream(out, err)
			return
		}
		if last == "" {
			// Nothing sent yet: every alert stored since the stream began
			// is owed, and there is no id to find them by. Say so.
			msg, _ := json.Marshal(wire.ErrorBody{Error: wire.ErrorInfo{Code: wire.CodeLagged, Message: "the stream fell behind before its first alert; reload the list"}})
			_ = out.event("gap", "", msg)
		}
	}
}

// follow sends the watch's alerts matching q until an error, skipping
// those the catch-up sent (seen), with a keepalive comment when idle.
func (s *Server) follow(ctx context.Context, out *sse, ch <-chan pumped, keep *time.Ticker, q backend.Query, seen map[string]bool, emit func(*backend.Alert) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-keep.C:
			out.comment("keepalive")
			if err := out.flush(); err != nil {
				return err
			}
		case p, ok := <-ch:
			if !ok {
				return ctx.Err()
			}
			if p.err != nil {
				return p.err
			}
			for {
				if q.Match(p.a) {
					if seen != nil && seen[p.a.ID()] {
						// sent by the catch-up
					} else {
						seen = nil // watch order is store order: past the overlap
						_ = emit(p.a)
					}
				}
				// Send what is already waiting before flushing.
				select {
				case p, ok = <-ch:
					if !ok {
						return ctx.Err()
					}
					if p.err != nil {
						_ = out.flush()
						return p.err
					}
					continue
				default:
				}
				break
			}
			if err := out.flush(); err != nil {
				return err
			}
		}
	}
}

// endStream sends an error event and ends the stream.
func (s *Server) endStream(out *sse, err error) {
	_, code := wire.CodeOf(err)
	msg, _ := json.Marshal(wire.ErrorBody{Error: wire.ErrorInfo{Code: code, Message: errMessage(err)}})
	_ = out.event("error", "", msg)
	_ = out.flush()
}

// alertsAfter returns the stored alerts newer than the alert id, oldest
// first, and whether id was found; when it was not (trimmed), it returns
// every stored alert.
func (s *Server) alertsAfter(ctx context.Context, id string) ([]*backend.Alert, bool, error) {
	var newer []*backend.Alert
	cursor := ""
	found := false
	for {
		page, err := s.store.List(ctx, backend.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, false, err
		}
		for _, a := range page.Alerts {
			if a.ID() == id {
				found = true
				break
			}
			newer = append(newer, a)
		}
		if found || page.Next == "" {
			break
		}
		cursor = page.Next
	}
	for i, j := 0, len(newer)-1; i < j; i, j = i+1, j-1 {
		newer[i], newer[j] = newer[j], newer[i]
	}
	return newer, found, nil
}
