// Package resp reads and writes the few RESP2 messages alertstore's own
// round trips need: the Sentinel master check of the Redis backends and
// the readiness gates of the container test helpers. The backends' data
// path goes through go-redis or valkey-go, never through this package; it
// exists so that the code that judges those libraries (which node is
// master, is the server ready) does not depend on them.
//
// A reply is read into plain Go values: string for simple and bulk
// strings, int64 for integers, []any for arrays, nil for null bulk
// strings and arrays, and an [Error] for error replies. The reader is
// bounded ([Limits]): a server that announces a huge bulk string, a huge
// array or deep nesting gets an error wrapping [ErrProtocol], and memory
// grows only with the bytes actually received, never with a length the
// server merely claims.
//
// The package is internal to the module's root so that both the backends
// and the container helpers (a module nested in this repository) can
// import it.
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Error is an error reply: its text without the leading '-'
// ("WRONGTYPE Operation against a key holding the wrong kind of value").
type Error string

func (e Error) Error() string { return string(e) }

// Code is the reply's first word ("WRONGTYPE", "ERR").
func (e Error) Code() string { c, _, _ := strings.Cut(string(e), " "); return c }

// ErrProtocol is wrapped by every error about a malformed or oversized
// reply (as opposed to an [Error] reply or an I/O error).
var ErrProtocol = errors.New("resp: protocol error")

// Limits bound what a reply may hold. Zero fields take the defaults.
type Limits struct {
	// MaxBulk is the longest bulk string accepted, in bytes. Default
	// DefaultMaxBulk.
	MaxBulk int
	// MaxArray is the most elements one array may have. Default
	// DefaultMaxArray.
	MaxArray int
	// MaxDepth is how deeply arrays may nest: 1 allows an array of
	// scalars, 2 an array of such arrays. Default DefaultMaxDepth.
	MaxDepth int
	// MaxLine is the longest line (type byte, simple string, error,
	// integer or length, without CRLF) accepted. Default DefaultMaxLine.
	MaxLine int
}

// The default limits: ample for INFO, ROLE, CLIENT LIST and SENTINEL
// replies of a test or production deployment, small enough that a hostile
// or broken server cannot exhaust memory.
const (
	DefaultMaxBulk  = 4 << 20
	DefaultMaxArray = 1 << 16
	DefaultMaxDepth = 8
	DefaultMaxLine  = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = DefaultMaxBulk
	}
	if l.MaxArray <= 0 {
		l.MaxArray = DefaultMaxArray
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	return l
}

// Reader reads replies from a buffered stream within its limits.
type Reader struct {
	r *bufio.Reader
	l Limits
}

// NewReader returns a Reader on r with limits l (zero fields: defaults).
func NewReader(r *bufio.Reader, l Limits) *Reader {
	return &Reader{r: r, l: l.withDefaults()}
}

// Read reads one reply. An error reply is returned as an [Error] in err
// (the stream stays usable); inside an array it is an element of type
// [Error] instead. A malformed or oversized reply is an error wrapping
// [ErrProtocol], after which the stream is out of step and should be
// closed; so is an I/O error (io.ErrUnexpectedEOF for a reply cut short).
func (r *Reader) Read() (any, error) {
	return r.read(0)
}

// Read reads one reply from br with the default limits; see [Reader.Read].
func Read(br *bufio.Reader) (any, error) {
	return NewReader(br, Limits{}).Read()
}

// A length the server claims costs memory only as the bytes arrive: a
// bulk string's buffer starts at firstChunk bytes and grows chunk bytes at
// a time, and an array's at preallocate elements.
const (
	firstChunk  = 4 << 10
	chunk       = 64 << 10
	preallocate = 16
)

func (r *Reader) read(depth int) (any, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, Error(body)
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad integer %q", ErrProtocol, clip(body))
		}
		return n, nil
	case '$':
		n, err := r.length(body, "bulk string", r.l.MaxBulk)
		if err != nil || n < 0 {
			return nil, err
		}
		s, err := r.bulk(n)
		if err != nil {
			return nil, err
		}
		return s, nil
	case '*':
		n, err := r.length(body, "array", r.l.MaxArray)
		if err != nil || n < 0 {
			return nil, err
		}
		if depth+1 > r.l.MaxDepth {
			return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrProtocol, r.l.MaxDepth)
		}
		out := make([]any, 0, min(n, preallocate))
		for range n {
			v, err := r.read(depth + 1)
			var re Error
			switch {
			case errors.As(err, &re):
				v = re
			case err != nil:
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: unexpected reply type %q", ErrProtocol, line[0])
	}
}

// line reads one CRLF-terminated line of at most MaxLine bytes and returns
// it without the CRLF; it is never empty.
func (r *Reader) line() (string, error) {
	var b []byte
	for {
		frag, err := r.r.ReadSlice('\n')
		if len(b)+len(frag) > r.l.MaxLine+2 {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, r.l.MaxLine)
		}
		b = append(b, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	if len(b) < 3 || b[len(b)-2] != '\r' {
		return "", fmt.Errorf("%w: malformed line %q", ErrProtocol, clip(string(b)))
	}
	return string(b[:len(b)-2]), nil
}

// length parses the length of a bulk string or array: -1 is null, other
// negative numbers and numbers above max are errors.
func (r *Reader) length(body, what string, max int) (int, error) {
	n, err := strconv.Atoi(body)
	switch {
	case err != nil || n < -1:
		return 0, fmt.Errorf("%w: bad %s length %q", ErrProtocol, what, clip(body))
	case n > max:
		return 0, fmt.Errorf("%w: %s of %d exceeds the limit of %d", ErrProtocol, what, n, max)
	}
	return n, nil
}

// bulk reads n bytes and the CRLF after them, growing its buffer as the
// bytes arrive.
func (r *Reader) bulk(n int) (string, error) {
	buf := make([]byte, 0, min(n, firstChunk))
	for len(buf) < n {
		k := min(n-len(buf), chunk)
		start := len(buf)
		buf = append(buf, make([]byte, k)...)
		if _, err := io.ReadFull(r.r, buf[start:]); err != nil {
			return "", unexpected(err)
		}
	}
	var crlf [2]byte
	if _, err := io.ReadFull(r.r, crlf[:]); err != nil {
		return "", unexpected(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return "", fmt.Errorf("%w: bulk string of %d bytes not followed by CRLF", ErrProtocol, n)
	}
	return string(buf), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// clip shortens what an error quotes from the stream.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// AppendCommand appends args to b as a RESP command (an array of bulk
// strings) and returns the extended buffer.
func AppendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// WriteCommand writes args to w as one RESP command. Its error never
// holds the arguments (an AUTH's hold a password).
func WriteCommand(w io.Writer, args ...string) error {
	_, err := w.Write(AppendCommand(nil, args...))
	return err
}
