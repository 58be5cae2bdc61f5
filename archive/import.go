package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// DefaultBatch is how many alerts Import stores per StoreBatch call.
const DefaultBatch = 500

// ErrConflict marks a line whose id is stored with other content: Import
// reports it and does not store it.
var ErrConflict = errors.New("id already stored with different content")

// ImportOptions tune Import. The zero value (or nil) is the defaults.
type ImportOptions struct {
	// Batch is how many alerts one write stores. Default DefaultBatch.
	Batch int
	// Reject, if not nil, is called for every line not stored for a
	// reason the input must fix: an invalid alert (wrapping
	// backend.ErrInvalidAlert) or a conflict (wrapping ErrConflict).
	Reject func(*LineError)
	// Progress, if not nil, is called after every batch stored.
	Progress func(ImportResult)
	// FlushTimeout bounds the write of the batch read when ctx was
	// cancelled (a signal): it is stored on a fresh context, so that
	// what was read is not left half done. Default 30s.
	FlushTimeout time.Duration
}

// LineError is a line Import did not store.
type LineError struct {
	Line int    // 1-based
	ID   string // the alert's id, when the line had one
	Err  error  // wraps backend.ErrInvalidAlert or ErrConflict
}

func (e *LineError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("line %d (id %s): %v", e.Line, e.ID, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ImportResult is what Import did.
type ImportResult struct {
	// Lines is the last line read (blank lines included).
	Lines int
	// Stored counts the alerts stored.
	Stored int
	// AlreadyStored counts alerts skipped because an alert with the same
	// id and content was stored already (an earlier run of the same
	// import, or the same line earlier in the file).
	AlreadyStored int
	// Invalid and Conflicts count the lines reported to Reject.
	Invalid, Conflicts int
	// StoredThrough is the last line whose alert is stored or skipped as
	// stored: everything up to it is done, whatever happens after.
	StoredThrough int
	// Trimmed is how many entries the store dropped for its cap while
	// the import ran (its count grew by less than what was stored): the
	// oldest. A second run of the same import would store them again,
	// after the newer ones; raise the cap (max_alerts) before importing
	// more than it holds.
	Trimmed int
}

// Import stores the alerts of r, one JSON object per line (blank lines
// ignored), in file order, keeping their ids and timestamps (see the
// package doc). An invalid line or a conflict is passed to o.Reject and
// skipped; Import goes on. It returns an error only for what stops it: a
// read or a store that failed (what was stored stays stored: run the same
// import again to complete it), or ctx cancelled, after storing what it
// had read.
func Import(ctx context.Context, s *backend.Store, r io.Reader, o *ImportOptions) (res ImportResult, err error) {
	var opt ImportOptions
	if o != nil {
		opt = *o
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	if opt.FlushTimeout <= 0 {
		opt.FlushTimeout = 30 * time.Second
	}
	idx := &index{s: s}
	if err := idx.load(ctx); err != nil {
		return res, err
	}
	defer func() {
		if n, err := s.Count(context.WithoutCancel(ctx)); err == nil && idx.count >= 0 {
			res.Trimmed = max(0, int(idx.count)+res.Stored-int(n))
		}
	}()
	reject := func(le *LineError) {
		if errors.Is(le.Err, ErrConflict) {
			res.Conflicts++
		} else {
			res.Invalid++
		}
		if opt.Reject != nil {
			opt.Reject(le)
		}
	}

	maxBytes := s.Config().MaxAlertBytes
	sign := s.Config().Sign
	batch := make([]*backend.Alert, 0, opt.Batch)
	var batchLast int // the last line in the batch, or skipped after it
	flush := func(ctx context.Context) error {
		if len(batch) > 0 {
			if err := s.StoreBatch(ctx, batch); err != nil {
				return fmt.Errorf("storing the alerts of lines %d..%d: %w (the alerts up to line %d are stored; run the same import again to store the rest)",
					res.StoredThrough+1, batchLast, err, res.StoredThrough)
			}
			res.Stored += len(batch)
			clear(batch)
			batch = batch[:0]
		}
		res.StoredThrough = batchLast
		if opt.Progress != nil {
			opt.Progress(res)
		}
		return nil
	}

	lr := newLineReader(r, 2*maxBytes+4096)
	for {
		if ctx.Err() != nil {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opt.FlushTimeout)
			err := flush(fctx)
			cancel()
			if err != nil {
				return res, err
			}
			return res, fmt.Errorf("interrupted after line %d (stored up to there; run the same import again to continue): %w", res.StoredThrough, ctx.Err())
		}
		line, n, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			return res, flush(ctx)
		}
		if err != nil {
			if ferr := flush(ctx); ferr != nil {
				return res, errors.Join(fmt.Errorf("reading line %d: %w", n, err), ferr)
			}
			return res, fmt.Errorf("reading line %d: %w (the alerts up to line %d are stored)", n, err, res.StoredThrough)
		}
		res.Lines = n
		if tooLong > 0 {
			reject(&LineError{Line: n, Err: fmt.Errorf("%w: line of %d bytes or more, over what an alert of max_alert_bytes %d can take", backend.ErrTooLarge, tooLong, maxBytes)})
			continue
		}
		if len(line) == 0 {
			continue
		}
		a, err := backend.DecodeAlert(line, 0)
		if err != nil {
			reject(&LineError{Line: n, Err: err})
			continue
		}
		if _, ok := a.Get(backend.FieldTimestamp); !ok {
			reject(&LineError{Line: n, ID: a.ID(), Err: &backend.AlertError{Index: -1, Field: backend.FieldTimestamp,
				Err: fmt.Errorf("%w: an exported alert always has one (import keeps timestamps; store new alerts with put -)", backend.ErrMissingTimestamp)}})
			continue
		}
		// The alert as the Store will write it: signed anew by a store
		// with keys.
		w := a
		if sign != nil {
			w = a.Clone()
			sign.Sign(w)
		}
		enc, _ := w.MarshalJSON()
		if len(enc) > maxBytes {
			reject(&LineError{Line: n, ID: a.ID(), Err: fmt.Errorf("%w (%d bytes, cap %d; raise max_alert_bytes)", backend.ErrTooLarge, len(enc), maxBytes)})
			continue
		}
		stored, conflict, err := idx.check(ctx, a, enc)
		if err != nil {
			return res, errors.Join(err, flush(ctx))
		}
		switch {
		case stored:
			res.AlreadyStored++
			batchLast = n
			if len(batch) == 0 {
				res.StoredThrough = n
			}
			continue
		case conflict:
			reject(&LineError{Line: n, ID: a.ID(), Err: ErrConflict})
			continue
		}
		batch = append(batch, a)
		batchLast = n
		if len(batch) >= opt.Batch {
			if err := flush(ctx); err != nil {
				return res, err
			}
		}
	}
}

// index is what Import knows is stored: the (id, content) keys of the
// alerts stored before it began, each a pair of truncated SHA-256 sums (a
// false match needs a 128-bit collision), sorted, 32 bytes an alert; and
// the id and content of each alert it stored since, in a map (about 85
// bytes an alert). Identical copies count as one alert, as List shows
// them. Alerts without an id are matched by their content but for the id
// the Store gave them, in a set built on first need.
type index struct {
	s     *backend.Store
	count int64 // entries stored when it began; -1: unknown
	keys  [][32]byte
	added map[[16]byte][16]byte
	noID  map[[16]byte]struct{} // nil until an alert without id is met
}

func sum16(b []byte) (k [16]byte) {
	s := sha256.Sum256(b)
	copy(k[:], s[:16])
	return k
}

func pairKey(id, content [16]byte) (k [32]byte) {
	copy(k[:16], id[:])
	copy(k[16:], content[:])
	return k
}

// each calls f for every alert s holds, newest first.
func (x *index) each(ctx context.Context, f func(*backend.Alert)) error {
	cursor := ""
	for {
		page, err := x.s.List(ctx, backend.Query{Limit: DefaultPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("reading what the store holds: %w", err)
		}
		for _, a := range page.Alerts {
			f(a)
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
}

func (x *index) load(ctx context.Context) error {
	x.count = -1
	if n, err := x.s.Count(ctx); err == nil {
		x.count = n
		x.keys = make([][32]byte, 0, n)
	}
	err := x.each(ctx, func(a *backend.Alert) {
		id := a.ID()
		if id == "" {
			return
		}
		enc, _ := a.MarshalJSON()
		x.keys = append(x.keys, pairKey(sum16([]byte(id)), sum16(enc)))
	})
	slices.SortFunc(x.keys, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	x.added = map[[16]byte][16]byte{}
	return err
}

// withoutID is the content of an alert without its id: what an alert
// without one was before the Store gave it one (the Store appends the id
// as the last member).
func withoutID(a *backend.Alert) []byte {
	c := a.Clone()
	c.Delete(backend.FieldID)
	b, _ := c.MarshalJSON()
	return b
}

// check reports whether a (encoded as the Store will write it, enc) is
// stored already, or conflicts with a stored alert of its id (stored with
// other content), and records it as stored otherwise: the caller stores
// it next. An alert without an id is stored with a fresh one: it counts
// as stored when a stored alert has the same content but for its id.
func (x *index) check(ctx context.Context, a *backend.Alert, enc []byte) (stored, conflict bool, err error) {
	ck := sum16(enc)
	id := a.ID()
	if id == "" {
		if x.noID == nil {
			x.noID = map[[16]byte]struct{}{}
			if err := x.each(ctx, func(s *backend.Alert) { x.noID[sum16(withoutID(s))] = struct{}{} }); err != nil {
				return false, false, err
			}
		}
		if _, ok := x.noID[ck]; ok {
			return true, false, nil
		}
		x.noID[ck] = struct{}{}
		return false, false, nil
	}
	ik := sum16([]byte(id))
	if c, ok := x.added[ik]; ok {
		return c == ck, c != ck, nil
	}
	cmp := func(e, k [32]byte) int { return bytes.Compare(e[:], k[:]) }
	if _, found := slices.BinarySearchFunc(x.keys, pairKey(ik, ck), cmp); found {
		return true, false, nil
	}
	// The same id with other content sorts where (id, 0...) would.
	j, _ := slices.BinarySearchFunc(x.keys, pairKey(ik, [16]byte{}), cmp)
	if j < len(x.keys) && [16]byte(x.keys[j][:16]) == ik {
		return false, true, nil
	}
	x.added[ik] = ck
	if x.noID != nil {
		x.noID[sum16(withoutID(a))] = struct{}{}
	}
	return false, false, nil
}

// lineReader reads lines of at most limit bytes; a longer line is read
// through without being held and reported by its length.
type lineReader struct {
	br    *bufio.Reader
	limit int
	n     int
	buf   []byte
}

func newLineReader(r io.Reader, limit int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// next returns the next line, trimmed, with its number; tooLong > 0 (the
// bytes read) for a line over the limit. io.EOF after the last line.
func (l *lineReader) next() (line []byte, n, tooLong int, err error) {
	l.buf = l.buf[:0]
	over := 0
	for {
		chunk, err := l.br.ReadSlice('\n')
		if over > 0 || len(l.buf)+len(chunk) > l.limit {
			over += len(l.buf) + len(chunk)
			l.buf = l.buf[:0]
		} else {
			l.buf = append(l.buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, l.n + 1, 0, err
		}
		if errors.Is(err, io.EOF) && over == 0 && len(l.buf) == 0 {
			return nil, l.n, 0, io.EOF
		}
		l.n++
		return bytes.TrimSpace(l.buf), l.n, over, nil
	}
}
