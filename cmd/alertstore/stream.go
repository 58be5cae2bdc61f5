package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/spf13/pflag"
)

// Defaults and limits of put -'s streaming (streamPut).
const (
	defaultStreamBatch = 100
	maxStreamBatch     = 10_000
	defaultStreamFlush = 200 * time.Millisecond
	// finalFlushTimeout bounds the flush after SIGINT/SIGTERM: the
	// command's ctx is cancelled by then, so the flush runs on a fresh
	// context (the Store adds its own per-call deadline too).
	finalFlushTimeout = 30 * time.Second
)

// streamOptions are put -'s streaming settings; they come from flags but
// streamPut takes them explicitly, so that it does not depend on how the
// command line is parsed.
type streamOptions struct {
	// Batch: store after this many valid lines.
	Batch int
	// Flush: store at most this long after the oldest unstored line was
	// read, even if fewer than Batch lines came (a quiet detector).
	Flush time.Duration
	// Reject receives every rejected line as read, one per line; nil:
	// rejected lines are only reported on stderr.
	Reject io.Writer
}

// streamResult is what a streaming put did.
type streamResult struct {
	Stored      int  // alerts stored (their ids were printed)
	Rejected    int  // invalid lines, reported by number
	Lines       int  // the last line read and handed on
	Interrupted bool // the command's ctx was cancelled (SIGINT/SIGTERM)
}

// streamItem is one valid alert, or the end of the input.
type streamItem struct {
	alert *backend.Alert
	line  int
	end   bool
	err   error // with end: why reading stopped, nil at EOF
}

// streamPut stores NDJSON alerts from in as they arrive: after opt.Batch
// valid lines, or opt.Flush after the oldest unstored line was read,
// whichever comes first. It holds one batch at a time, whatever the
// input's length. An invalid line (not an alert, or over the store's size
// cap) is reported on stderr by its line number, written to opt.Reject,
// and skipped: the stream goes on. When ctx is cancelled (SIGINT,
// SIGTERM) it stops reading, stores what it has read on a fresh bounded
// context, and returns; every line handed on by the reader was stored or
// named in an error. Every write uses a context that ignores the
// cancellation, so a signal never cuts a write in half: it only stops the
// reading.
func streamPut(ctx context.Context, env *cliEnv, s *backend.Store, in io.Reader, opt streamOptions) (streamResult, error) {
	var res streamResult
	items := make(chan streamItem)
	done := make(chan struct{})
	defer close(done)
	var rejected atomic.Int64
	rd := &lineReader{
		env: env, in: in, reject: opt.Reject, maxBytes: s.Config().MaxAlertBytes,
		out: items, done: done, rejected: &rejected,
	}
	go rd.run()

	writeCtx := context.WithoutCancel(ctx)
	batch := make([]*backend.Alert, 0, opt.Batch)
	lines := make([]int, 0, opt.Batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var timerC <-chan time.Time
	flush := func(ctx context.Context) error {
		timerC = nil
		if len(batch) == 0 {
			return nil
		}
		if err := s.StoreBatch(ctx, batch); err != nil {
			reportStreamFailure(env, res, lines[0])
			return atLine(err, lines, 0)
		}
		for _, a := range batch {
			fmt.Fprintln(env.stdout, a.ID())
		}
		res.Stored += len(batch)
		clear(batch) // let the stored alerts go
		batch, lines = batch[:0], lines[:0]
		return nil
	}
	finish := func(err error) (streamResult, error) {
		res.Rejected = int(rejected.Load())
		return res, err
	}
	for {
		select {
		case it := <-items:
			if it.end {
				if err := flush(writeCtx); err != nil {
					return finish(err)
				}
				return finish(it.err)
			}
			res.Lines = it.line
			batch = append(batch, it.alert)
			lines = append(lines, it.line)
			if len(batch) == 1 {
				timer.Reset(opt.Flush)
				timerC = timer.C
			}
			if len(batch) >= opt.Batch {
				if err := flush(writeCtx); err != nil {
					return finish(err)
				}
			}
		case <-timerC:
			if err := flush(writeCtx); err != nil {
				return finish(err)
			}
		case <-ctx.Done():
			res.Interrupted = true
			fctx, cancel := context.WithTimeout(writeCtx, finalFlushTimeout)
			err := flush(fctx)
			cancel()
			return finish(err)
		}
	}
}

// reportStreamFailure says, after a failed write, which input was stored
// and from which line on nothing was.
func reportStreamFailure(env *cliEnv, res streamResult, firstUnstored int) {
	if res.Stored == 0 {
		env.notef("nothing was stored")
		return
	}
	env.notef("%d alerts before line %d were stored (their ids were printed); from line %d on, nothing was stored",
		res.Stored, firstUnstored, firstUnstored)
}

// lineReader reads, parses and checks lines in its own goroutine, so that
// a flush timer fires while a read blocks. It hands valid alerts on one
// at a time (unbuffered), and reports and skips invalid ones itself.
type lineReader struct {
	env      *cliEnv
	in       io.Reader
	reject   io.Writer
	maxBytes int
	out      chan<- streamItem
	done     <-chan struct{}
	rejected *atomic.Int64
}

// maxLineBytes is the longest line parsed. An alert is stored compacted,
// so a line may carry more white space than its stored form: twice the
// cap plus some slack covers any sane layout. A longer line is rejected
// without being held in memory.
func maxLineBytes(maxAlert int) int { return 2*maxAlert + 4096 }

func (r *lineReader) run() {
	br := bufio.NewReaderSize(r.in, 64<<10)
	limit := maxLineBytes(r.maxBytes)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		over := 0 // bytes of a too-long line, beyond buf
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			switch {
			case over > 0:
				over += len(chunk)
				err = r.writeReject(chunk, err)
			case len(buf)+len(chunk) > limit:
				// Too long to parse: stream it to the reject file as
				// read, holding no more than the limit.
				over = len(buf) + len(chunk)
				if err2 := r.writeReject(buf, nil); err2 != nil {
					err = err2
				} else {
					err = r.writeReject(chunk, err)
				}
				buf = buf[:0]
			default:
				buf = append(buf, chunk...)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			r.send(streamItem{end: true, err: fmt.Errorf("reading stdin: %w", err)})
			return
		}
		eof := err != nil
		if over > 0 {
			r.report(n, fmt.Errorf("%w: line of %d bytes, over the %d bytes read for an alert (max_alert_bytes %d)", backend.ErrTooLarge, over, limit, r.maxBytes))
			if eof {
				// The reject file has the line already, without a newline
				// the input lacked too; end it so the next run appends cleanly.
				if werr := r.writeReject([]byte("\n"), nil); werr != nil {
					r.send(streamItem{end: true, err: werr})
					return
				}
			}
		} else if line := bytes.TrimSpace(buf); len(line) > 0 {
			a, perr := backend.ParseAlert(line)
			if perr == nil {
				perr = prepareOne(a, r.maxBytes)
			}
			if perr != nil {
				r.report(n, perr)
				if werr := r.writeRejectLine(buf); werr != nil {
					r.send(streamItem{end: true, err: werr})
					return
				}
			} else if !r.send(streamItem{alert: a, line: n}) {
				return
			}
		}
		if eof {
			r.send(streamItem{end: true})
			return
		}
	}
}

func (r *lineReader) send(it streamItem) bool {
	select {
	case r.out <- it:
		return true
	case <-r.done:
		return false
	}
}

func (r *lineReader) report(n int, err error) {
	r.rejected.Add(1)
	r.env.notef("line %d: %s", n, message(err))
}

// writeReject writes part of a too-long line to the reject file as read,
// and passes readErr through when the write succeeds.
func (r *lineReader) writeReject(chunk []byte, readErr error) error {
	if r.reject == nil || len(chunk) == 0 {
		return readErr
	}
	if _, err := r.reject.Write(chunk); err != nil {
		return fmt.Errorf("writing the reject file: %w", err)
	}
	return readErr
}

// writeRejectLine writes one whole rejected line as read, newline-ended.
func (r *lineReader) writeRejectLine(line []byte) error {
	if r.reject == nil {
		return nil
	}
	if !bytes.HasSuffix(line, []byte("\n")) {
		line = append(line, '\n')
	}
	if _, err := r.reject.Write(line); err != nil {
		return fmt.Errorf("writing the reject file: %w", err)
	}
	return nil
}

// prepareOne gives a its id and timestamp, as the Store would at its write
// (so the bytes measured are the bytes stored), and checks it against the
// store's size cap.
func prepareOne(a *backend.Alert, maxBytes int) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if _, ok := a.Get(backend.FieldID); !ok {
		id, err := backend.NewID()
		if err != nil {
			return err
		}
		if err := a.SetID(id); err != nil {
			return err
		}
	}
	if _, ok := a.Get(backend.FieldTimestamp); !ok {
		if err := a.SetTime(time.Now()); err != nil {
			return err
		}
	}
	b, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	if len(b) > maxBytes {
		return fmt.Errorf("%w: %d bytes, over the store's cap of %d (max_alert_bytes)", backend.ErrTooLarge, len(b), maxBytes)
	}
	return nil
}

// lockedWriter serialises writes: put -'s reader reports rejected lines
// while the writer reports on the store.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// streamFlags are put -'s streaming flags.
type streamFlags struct {
	batch      int
	flush      time.Duration
	rejectFile string
	atomic     bool
}

func (sf *streamFlags) add(fs *pflag.FlagSet) {
	fs.IntVar(&sf.batch, "batch", defaultStreamBatch, "with put -: store after this many lines")
	fs.DurationVar(&sf.flush, "flush", defaultStreamFlush, "with put -: store a line at most this long after it was read, even if the batch is not full")
	fs.StringVar(&sf.rejectFile, "reject-file", "", "with put -: append every rejected line, as read, to this file (created 0600)")
	fs.BoolVar(&sf.atomic, "atomic", false, "with put -: read the whole input first, and store nothing if any line is invalid (finite input only)")
}

// check refuses streaming flags out of place and out of range.
func (sf *streamFlags) check(fs *pflag.FlagSet, rest []string, skipInvalid bool) error {
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	stdin := len(rest) == 1 && rest[0] == "-"
	for _, name := range []string{"batch", "flush", "reject-file", "atomic"} {
		if set[name] && !stdin {
			return usagef("--%s applies to put - (NDJSON from stdin) only", name)
		}
	}
	switch {
	case sf.batch < 1 || sf.batch > maxStreamBatch:
		return usagef("--batch %d: want 1 to %d", sf.batch, maxStreamBatch)
	case sf.flush <= 0:
		return usagef("--flush %s: want a positive duration such as 200ms", sf.flush)
	case sf.atomic && (set["batch"] || set["flush"] || set["reject-file"]):
		return usagef("--atomic reads the whole input before storing: --batch, --flush and --reject-file do not apply")
	case skipInvalid && !stdin:
		return usagef("--skip-invalid applies to put - only")
	}
	// --skip-invalid without --atomic is accepted as before: streaming
	// skips invalid lines anyway.
	return nil
}

// putStream is put - without --atomic: open the store and the reject file,
// stream, and say what happened.
func putStream(ctx context.Context, env *cliEnv, dsn string, sf *streamFlags) (err error) {
	opt := streamOptions{Batch: sf.batch, Flush: sf.flush}
	if sf.rejectFile != "" {
		f, err := os.OpenFile(sf.rejectFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return usagef("--reject-file: %v", err)
		}
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("closing the reject file: %w", cerr)
			}
		}()
		opt.Reject = f
	}
	s, err := env.openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer closeInto(&err, s)
	res, err := streamPut(ctx, env, s, env.stdin, opt)
	if res.Interrupted {
		env.notef("interrupted: stored %d alerts, every valid line read through line %d", res.Stored, res.Lines)
	}
	if err != nil {
		return err
	}
	if res.Rejected > 0 {
		return &storedSome{fmt.Errorf("%w: stored %d alerts (their ids were printed), rejected %d invalid lines (listed above)", backend.ErrInvalidAlert, res.Stored, res.Rejected)}
	}
	if res.Stored == 0 && !res.Interrupted {
		env.notef("no alerts on stdin")
	}
	return nil
}
