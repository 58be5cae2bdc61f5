package archive

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apt-detection/alertstore/backend"
)

// DefaultPageSize is how many alerts Export reads per List call.
const DefaultPageSize = 1000

// ExportOptions tune Export. The zero value (or nil) is the defaults.
type ExportOptions struct {
	// PageSize is how many alerts one List call reads, and so how many
	// Export holds at once. Default DefaultPageSize; at most
	// backend.MaxLimit.
	PageSize int
	// SpoolDir is where Export spools a store of more than one page.
	// Default os.TempDir(). The spool file is readable by its owner only
	// and removed before Export returns.
	SpoolDir string
	// Progress, if not nil, is called after every page read (Phase
	// "read") and written (Phase "write").
	Progress func(Progress)
}

// Progress is where an export stands.
type Progress struct {
	// Phase is "read" while Export reads the store, "write" while it
	// writes what it read.
	Phase string
	// Done counts the alerts read (read) or written (write) so far;
	// Total is how many were read (0 while reading).
	Done, Total int
}

// ExportResult is what Export did.
type ExportResult struct {
	// Alerts counts the alerts written.
	Alerts int
	// Skipped counts stored entries that are not alerts (written by
	// another tool), which List skips and Export therefore leaves out.
	Skipped int
	// Duplicates counts identical copies of an alert within one page,
	// written once (List's Page.Duplicates).
	Duplicates int
	// Trimmed counts the entries stored when the export began that
	// writers trimmed away before it read them: the oldest, left out of
	// the file.
	Trimmed int
}

// Export writes every alert stored in s when it begins to w, oldest first,
// one compact JSON object per line (see the package doc for what a store
// being written to gives). It reads newest first, once, so that writers
// trimming the oldest end can only shorten the export, never cut a hole in
// it; when the store holds more than one page it spools the pages to a
// temporary file (each page reversed), then copies them to w from the
// last. It holds one page of alerts and one offset per page. A failed read
// or write returns its error with the result so far; the output is then
// incomplete.
func Export(ctx context.Context, s *backend.Store, w io.Writer, o *ExportOptions) (ExportResult, error) {
	var res ExportResult
	var opt ExportOptions
	if o != nil {
		opt = *o
	}
	if opt.PageSize <= 0 {
		opt.PageSize = DefaultPageSize
	}
	if opt.PageSize > backend.MaxLimit {
		return res, fmt.Errorf("%w: export page size %d is over %d", backend.ErrInvalidQuery, opt.PageSize, backend.MaxLimit)
	}
	progress := func(p Progress) {
		if opt.Progress != nil {
			opt.Progress(p)
		}
	}
	// What was stored at the start, to tell what trimming took: Count
	// counts every entry, and List examines each entry it reads once.
	atStart, err := s.Count(ctx)
	if err != nil {
		return res, err
	}
	examined := 0

	sp := &spool{dir: opt.SpoolDir}
	defer sp.remove()
	cursor := ""
	for {
		page, err := s.List(ctx, backend.Query{Limit: opt.PageSize, Cursor: cursor})
		if err != nil {
			return res, err
		}
		examined += page.Examined
		res.Skipped += page.Skipped
		res.Duplicates += page.Duplicates
		read := sp.total + len(page.Alerts)
		progress(Progress{Phase: "read", Done: read})
		if cursor == "" && page.Next == "" {
			// One page: written as it is, no spool.
			res.Trimmed = max(0, int(atStart)-examined)
			bw := bufio.NewWriterSize(w, 64<<10)
			if err := writeReversed(bw, page.Alerts); err != nil {
				return res, err
			}
			if err := bw.Flush(); err != nil {
				return res, err
			}
			res.Alerts = len(page.Alerts)
			progress(Progress{Phase: "write", Done: res.Alerts, Total: res.Alerts})
			return res, nil
		}
		if err := sp.add(page.Alerts); err != nil {
			return res, fmt.Errorf("spooling the export: %w", err)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	res.Trimmed = max(0, int(atStart)-examined)
	err = sp.copyOut(w, func(done int) {
		res.Alerts = done
		progress(Progress{Phase: "write", Done: done, Total: sp.total})
	})
	return res, err
}

// writeReversed writes alerts (newest first, as List gives them) oldest
// first, one per line.
func writeReversed(w io.Writer, alerts []*backend.Alert) error {
	for i := len(alerts) - 1; i >= 0; i-- {
		b, err := alerts[i].MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// spool holds the pages of an export, each oldest first, in a temporary
// file, and where each starts.
type spool struct {
	dir   string
	f     *os.File
	w     *bufio.Writer
	size  int64
	pages []spooledPage
	total int
}

type spooledPage struct {
	off int64
	n   int
}

func (s *spool) add(alerts []*backend.Alert) error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "alertstore-export-*")
		if err != nil {
			return err
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	cw := &countingWriter{w: s.w}
	if err := writeReversed(cw, alerts); err != nil {
		return err
	}
	s.pages = append(s.pages, spooledPage{off: s.size, n: len(alerts)})
	s.size += cw.n
	s.total += len(alerts)
	return nil
}

// copyOut copies the pages to w from the last spooled (the oldest),
// calling done with the alerts written after each.
func (s *spool) copyOut(w io.Writer, done func(int)) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spooling the export: %w", err)
	}
	end, written := s.size, 0
	for i := len(s.pages) - 1; i >= 0; i-- {
		p := s.pages[i]
		if _, err := io.Copy(w, io.NewSectionReader(s.f, p.off, end-p.off)); err != nil {
			return err
		}
		end = p.off
		written += p.n
		done(written)
	}
	return nil
}

// remove deletes the spool file.
func (s *spool) remove() {
	if s.f != nil {
		_ = s.f.Close() // read back, or abandoned on an error already returned
		_ = os.Remove(s.f.Name())
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
