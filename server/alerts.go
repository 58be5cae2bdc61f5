package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// maxListLimit bounds one page over HTTP: larger reads page with the
// cursor.
const maxListLimit = 10_000

// stored is the answer of a store request, and the part of an error
// answer that says what was stored anyway.
type stored struct {
	Stored   int        `json:"stored"`
	IDs      []string   `json:"ids"`
	Rejected []rejected `json:"rejected,omitempty"`
}

// rejected names one refused item: its index among the items (0-based),
// its line in an NDJSON body (1-based; 0 in a JSON body) and why.
type rejected struct {
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

type storeError struct {
	Error wire.ErrorInfo `json:"error"`
	stored
}

func (s *Server) postAlerts(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	mt := "application/x-ndjson" // curl -T - sends none: lines, as from tail -F
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			writeError(w, http.StatusUnsupportedMediaType, wire.CodeMediaType, "unreadable Content-Type: "+err.Error())
			return
		}
	}
	switch mt {
	case "application/json":
		s.postJSON(w, r)
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines":
		s.postNDJSON(w, r)
	default:
		writeError(w, http.StatusUnsupportedMediaType, wire.CodeMediaType, "Content-Type "+mt+" is not accepted: send application/json (one alert or an array) or application/x-ndjson (one alert per line)")
	}
}

// postJSON stores one alert or an array, all or nothing.
func (s *Server) postJSON(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, wire.CodeBodyTooLarge, fmt.Sprintf("the body is over %d bytes: send several requests, or NDJSON (streamed)", s.opts.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, "reading the body: "+err.Error())
		return
	}
	maxBytes := s.store.Config().MaxAlertBytes
	trimmed := bytes.TrimSpace(body)
	var items []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			s.refuse(w, http.StatusBadRequest, wire.CodeInvalidAlert, "the body is not a JSON array of alerts: "+err.Error(), stored{IDs: []string{}})
			return
		}
	} else {
		items = []json.RawMessage{trimmed}
	}
	if len(items) == 0 {
		writeJSON(w, http.StatusOK, stored{IDs: []string{}})
		return
	}
	alerts := make([]*backend.Alert, 0, len(items))
	var bad []rejected
	tooLarge := false
	for i, raw := range items {
		a, err := backend.DecodeAlert(raw, maxBytes)
		if err != nil {
			bad = append(bad, rejected{Index: i, Message: errMessage(err)})
			tooLarge = tooLarge || errors.Is(err, backend.ErrTooLarge)
			continue
		}
		alerts = append(alerts, a)
	}
	if len(bad) > 0 {
		s.countRejected(len(bad))
		status, code := http.StatusBadRequest, wire.CodeInvalidAlert
		if tooLarge && len(bad) == 1 {
			status, code = http.StatusRequestEntityTooLarge, wire.CodeTooLarge
		}
		s.refuse(w, status, code, fmt.Sprintf("%d of %d alerts are invalid; nothing was stored", len(bad), len(items)), stored{IDs: []string{}, Rejected: bad})
		return
	}
	if err := s.store.StoreBatch(r.Context(), alerts); err != nil {
		status, code := wire.CodeOf(err)
		out := stored{IDs: []string{}}
		var ae *backend.AlertError
		if errors.As(err, &ae) && ae.Index >= 0 {
			out.Rejected = []rejected{{Index: ae.Index, Message: errMessage(err)}}
		}
		s.refuse(w, status, code, errMessage(err)+"; nothing was stored", out)
		return
	}
	writeJSON(w, http.StatusOK, stored{Stored: len(alerts), IDs: idsOf(alerts)})
}

func (s *Server) refuse(w http.ResponseWriter, status int, code, msg string, st stored) {
	if st.IDs == nil {
		st.IDs = []string{}
	}
	writeJSON(w, status, storeError{Error: wire.ErrorInfo{Code: code, Message: msg}, stored: st})
}

func idsOf(as []*backend.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID()
	}
	return out
}

// ndjsonItem is one line of an NDJSON body, parsed by the reader.
type ndjsonItem struct {
	a    *backend.Alert
	bad  *rejected
	err  error // the body could not be read further (not a line's fault)
	done bool  // end of the body
}

// postNDJSON stores the lines of the body as they arrive, in batches, and
// answers once the body ends: what was stored (ids, in order) and which
// lines were rejected. A rejected line does not stop the others; a store
// failure does, and the answer says exactly what was stored before it.
func (s *Server) postNDJSON(w http.ResponseWriter, r *http.Request) {
	maxLine := s.store.Config().MaxAlertBytes
	items := make(chan ndjsonItem, s.opts.BatchSize)
	ctx, cancel := s.ctxStopping(r.Context())
	defer cancel()
	go readNDJSON(ctx, r.Body, maxLine, items)

	var out stored
	out.IDs = []string{}
	var batch []*backend.Alert
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	flush := func() error {
		timer.Stop()
		if len(batch) == 0 {
			return nil
		}
		// A store call that began completes even when shutdown starts:
		// an acknowledged line must be answered as stored.
		err := s.store.StoreBatch(context.WithoutCancel(r.Context()), batch)
		if err == nil {
			out.Stored += len(batch)
			out.IDs = append(out.IDs, idsOf(batch)...)
		}
		batch = batch[:0]
		return err
	}
	fail := func(status int, code, msg string) {
		cancel()
		// The body's reader may be blocked in a read only the client
		// could end, holding the body: net/http would then wait for it
		// before finishing this request, and a shutdown would wait out its
		// timeout. A read deadline in the past ends that read now.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		s.refuse(w, status, code, fmt.Sprintf("%s; %d alerts were stored before it (their ids are listed), the rest of the body was not read", msg, out.Stored), out)
	}
	for {
		select {
		case it := <-items:
			switch {
			case it.done:
				if err := flush(); err != nil {
					status, code := wire.CodeOf(err)
					fail(status, code, errMessage(err))
					return
				}
				if len(out.Rejected) > 0 {
					s.refuse(w, http.StatusBadRequest, wire.CodeInvalidAlert, fmt.Sprintf("%d lines were rejected (listed); the %d others were stored", len(out.Rejected), out.Stored), out)
					return
				}
				writeJSON(w, http.StatusOK, out)
				return
			case it.err != nil:
				if err := flush(); err != nil {
					status, code := wire.CodeOf(err)
					fail(status, code, errMessage(err))
					return
				}
				if errors.Is(it.err, errStopping) {
					fail(http.StatusServiceUnavailable, wire.CodeClosed, "the server is shutting down")
					return
				}
				fail(http.StatusBadRequest, wire.CodeBadRequest, "reading the body: "+it.err.Error())
				return
			case it.bad != nil:
				s.countRejected(1)
				out.Rejected = append(out.Rejected, *it.bad)
			default:
				if len(batch) == 0 {
					timer.Reset(s.opts.FlushInterval)
				}
				batch = append(batch, it.a)
				if len(batch) >= s.opts.BatchSize {
					if err := flush(); err != nil {
						status, code := wire.CodeOf(err)
						fail(status, code, errMessage(err))
						return
					}
				}
			}
		case <-ctx.Done():
			// Shutdown (or the client went away): store what was read,
			// and say what was stored. The rest of the body is not read.
			if err := flush(); err != nil {
				status, code := wire.CodeOf(err)
				fail(status, code, errMessage(err))
				return
			}
			fail(http.StatusServiceUnavailable, wire.CodeClosed, "the server is shutting down")
			return
		case <-timer.C:
			if err := flush(); err != nil {
				status, code := wire.CodeOf(err)
				fail(status, code, errMessage(err))
				return
			}
		}
	}
}

// readNDJSON parses body line by line into items until the end, an error,
// or ctx is done (then it sends errStopping). A line over maxLine bytes is
// rejected without being held.
func readNDJSON(ctx context.Context, body io.Reader, maxLine int, items chan<- ndjsonItem) {
	send := func(it ndjsonItem) bool {
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	br := bufio.NewReaderSize(body, 64<<10)
	var line []byte
	index := 0
	for n := 1; ; n++ {
		line = line[:0]
		over := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if !over {
				if len(line)+len(chunk) > maxLine+2 { // +2: "\r\n"
					over, line = true, line[:0]
				} else {
					line = append(line, chunk...)
				}
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if ctx.Err() != nil {
			send(ndjsonItem{err: errStopping})
			return
		}
		t := bytes.TrimSpace(line)
		switch {
		case over:
			if !send(ndjsonItem{bad: &rejected{Index: index, Line: n, Message: fmt.Sprintf("the line is over max_alert_bytes (%d)", maxLine)}}) {
				return
			}
			index++
		case len(t) > 0:
			a, perr := backend.DecodeAlert(t, maxLine)
			it := ndjsonItem{a: a}
			if perr != nil {
				it = ndjsonItem{bad: &rejected{Index: index, Line: n, Message: errMessage(perr)}}
			}
			if !send(it) {
				return
			}
			index++
		}
		if err == io.EOF {
			send(ndjsonItem{done: true})
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				err = errStopping
			}
			send(ndjsonItem{err: err})
			return
		}
	}
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q, err := parseFilters(qv, time.Now(), "limit", "cursor")
	if err == nil {
		q.Limit, err = intParam(qv, "limit", backend.DefaultLimit, 1, maxListLimit)
	}
	if err != nil {
		writeStoreError(w, err)
		return
	}
	q.Cursor = qv.Get("cursor")
	page, err := s.store.List(r.Context(), q)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"alerts":     rawAlerts(page.Alerts),
		"next":       page.Next,
		"skipped":    page.Skipped,
		"duplicates": page.Duplicates,
		"conflicts":  nonNil(page.Conflicts),
		"stopped":    page.Stopped,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getAlert finds one alert by id among the newest max_alerts (List's
// budget): an id is not an index, so this is a scan, as bounded as List.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := s.findAlert(r.Context(), id)
	switch {
	case err != nil:
		writeStoreError(w, err)
	case a == nil:
		writeError(w, http.StatusNotFound, wire.CodeNotFound, fmt.Sprintf("no alert with id %q among the newest %d", id, s.store.Config().MaxAlerts))
	default:
		b, _ := a.MarshalJSON()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
	}
}

func (s *Server) findAlert(ctx context.Context, id string) (*backend.Alert, error) {
	cursor := ""
	scanned := 0
	for {
		page, err := s.store.List(ctx, backend.Query{Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, a := range page.Alerts {
			if a.ID() == id {
				return a, nil
			}
		}
		scanned += page.Examined
		if page.Next == "" || scanned >= s.store.Config().MaxAlerts {
			return nil, nil
		}
		cursor = page.Next
	}
}

func (s *Server) count(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		writeError(w, http.StatusBadRequest, wire.CodeInvalidQuery, "count takes no query parameters")
		return
	}
	n, err := s.store.Count(r.Context())
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Count{Count: n})
}

// countRejected counts alerts refused before they reached the store (the
// store's observer counts those it refused itself).
func (s *Server) countRejected(n int) {
	if s.opts.Metrics != nil {
		s.opts.Metrics.rejectedLines(n)
	}
}
