package resp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func reader(s string, l Limits) *Reader {
	return NewReader(bufio.NewReaderSize(strings.NewReader(s), 16), l)
}

func TestRead(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, c := range []struct {
		name   string
		in     string
		limits Limits
		want   any
		err    error // matched with errors.Is, or an Error compared by value
	}{
		{"simple string", "+OK\r\n", Limits{}, "OK", nil},
		{"empty simple string", "+\r\n", Limits{}, "", nil},
		{"integer", ":-42\r\n", Limits{}, int64(-42), nil},
		{"bulk string", "$5\r\nhe\r\no\r\n", Limits{}, "he\r\no", nil},
		{"empty bulk string", "$0\r\n\r\n", Limits{}, "", nil},
		{"null bulk string", "$-1\r\n", Limits{}, nil, nil},
		{"null array", "*-1\r\n", Limits{}, nil, nil},
		{"empty array", "*0\r\n", Limits{}, []any{}, nil},
		{"error reply", "-WRONGTYPE bad kind\r\n", Limits{}, nil, Error("WRONGTYPE bad kind")},
		{"nested array with an error element", "*4\r\n+OK\r\n:42\r\n$-1\r\n*2\r\n$3\r\nfoo\r\n-ERR bad\r\n", Limits{},
			[]any{"OK", int64(42), nil, []any{"foo", Error("ERR bad")}}, nil},
		{"line longer than the bufio buffer", "+" + long + "\r\n", Limits{}, long, nil},
		{"bulk at the limit", "$3\r\nabc\r\n", Limits{MaxBulk: 3}, "abc", nil},
		{"array at the limit", "*2\r\n:1\r\n:2\r\n", Limits{MaxArray: 2}, []any{int64(1), int64(2)}, nil},
		{"depth at the limit", "*1\r\n*1\r\n:1\r\n", Limits{MaxDepth: 2}, []any{[]any{int64(1)}}, nil},

		{"bulk over the limit", "$4\r\nabcd\r\n", Limits{MaxBulk: 3}, nil, ErrProtocol},
		{"huge bulk claimed", "$2147483647\r\nab", Limits{}, nil, ErrProtocol},
		{"array over the limit", "*3\r\n:1\r\n:2\r\n:3\r\n", Limits{MaxArray: 2}, nil, ErrProtocol},
		{"huge array claimed", "*99999999999\r\n", Limits{}, nil, ErrProtocol},
		{"too deep", "*1\r\n*1\r\n*1\r\n:1\r\n", Limits{MaxDepth: 2}, nil, ErrProtocol},
		{"line over the limit", "+" + long + "\r\n", Limits{MaxLine: 50}, nil, ErrProtocol},
		{"negative length", "$-2\r\n", Limits{}, nil, ErrProtocol},
		{"bad length", "*x\r\n", Limits{}, nil, ErrProtocol},
		{"bad integer", ":12a\r\n", Limits{}, nil, ErrProtocol},
		{"unknown type", "?what\r\n", Limits{}, nil, ErrProtocol},
		{"empty line", "\r\n", Limits{}, nil, ErrProtocol},
		{"LF without CR", "+OK\n", Limits{}, nil, ErrProtocol},
		{"bulk without CRLF", "$2\r\nabcd", Limits{}, nil, ErrProtocol},
		{"nothing", "", Limits{}, nil, io.EOF},
		{"line cut short", "+OK", Limits{}, nil, io.ErrUnexpectedEOF},
		{"bulk cut short", "$10\r\nabc", Limits{}, nil, io.ErrUnexpectedEOF},
		{"array cut short", "*2\r\n:1\r\n", Limits{}, nil, io.EOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := reader(c.in, c.limits).Read()
			var wantReply Error
			switch {
			case errors.As(c.err, &wantReply):
				if !errors.Is(err, wantReply) {
					t.Fatalf("err = %#v, want the error reply %#v", err, wantReply)
				}
			case c.err != nil:
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want one wrapping %v", err, c.err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("reply = %#v, want %#v", got, c.want)
			}
		})
	}
}

// TestReadSequence: an error reply leaves the stream usable for the next
// reply, as pipelined commands need.
func TestReadSequence(t *testing.T) {
	r := reader("-ERR no\r\n:7\r\n", Limits{})
	if _, err := r.Read(); !errors.Is(err, Error("ERR no")) {
		t.Fatalf("first: err = %v", err)
	}
	if v, err := r.Read(); err != nil || v != int64(7) {
		t.Fatalf("second: %v, %v", v, err)
	}
}

func TestErrorCode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"WRONGPASS invalid username-password pair", "WRONGPASS"},
		{"ERR", "ERR"},
		{"", ""},
	} {
		if got := Error(c.in).Code(); got != c.want {
			t.Errorf("Error(%q).Code() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(AppendCommand(nil, "SET", "k", "a\r\nb", ""))
	want := "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
	if got != want {
		t.Fatalf("AppendCommand = %q, want %q", got, want)
	}
	// A command is an array of bulk strings: the reader reads it back.
	v, err := reader(got, Limits{}).Read()
	if err != nil || !reflect.DeepEqual(v, []any{"SET", "k", "a\r\nb", ""}) {
		t.Fatalf("read back: %#v, %v", v, err)
	}
}

// encode writes a reply value as Read returns it, canonically: strings as
// bulk strings, nil as a null bulk string.
func encode(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "$-1\r\n"...)
	case string:
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, "\r\n"...)
		b = append(b, v...)
		return append(b, "\r\n"...)
	case int64:
		b = append(b, ':')
		b = strconv.AppendInt(b, v, 10)
		return append(b, "\r\n"...)
	case Error:
		b = append(b, '-')
		b = append(b, v...)
		return append(b, "\r\n"...)
	case []any:
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, "\r\n"...)
		for _, e := range v {
			b = encode(b, e)
		}
		return b
	}
	panic("encode: unexpected type")
}

// payload is the bytes a reply value holds in strings, which bound what
// reading it may allocate.
func payload(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case Error:
		return len(v)
	case []any:
		n := 0
		for _, e := range v {
			n += payload(e)
		}
		return n
	}
	return 0
}

// FuzzRead feeds arbitrary bytes to the reader under small limits: it
// never panics, it never returns a value its limits forbid or one holding
// more string bytes than it was given, and a value it returns reads back
// identically from its canonical encoding.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", ":1\r\n", "$3\r\nfoo\r\n", "$-1\r\n", "*-1\r\n", "-ERR x\r\n",
		"*2\r\n$10\r\nmymaster-1\r\n$4\r\n6379\r\n",
		"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n",
		"*1\r\n*4\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6380\r\n",
		"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
		"$99999999\r\n", "*99999999\r\n",
	} {
		f.Add([]byte(s))
	}
	limits := Limits{MaxBulk: 64, MaxArray: 8, MaxDepth: 4, MaxLine: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(data)), limits)
		v, err := r.Read()
		if err != nil {
			return
		}
		if p := payload(v); p > len(data) {
			t.Fatalf("reply holds %d string bytes from %d input bytes", p, len(data))
		}
		checkLimits(t, v, limits, 0)
		again, err := NewReader(bufio.NewReader(bytes.NewReader(encode(nil, v))), limits).Read()
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("round trip of %#v: %#v, %v", v, again, err)
		}
	})
}

func checkLimits(t *testing.T, v any, l Limits, depth int) {
	switch v := v.(type) {
	case string:
		if len(v) > l.MaxBulk && len(v) > l.MaxLine {
			t.Fatalf("string of %d bytes", len(v))
		}
	case []any:
		if len(v) > l.MaxArray || depth+1 > l.MaxDepth {
			t.Fatalf("array of %d at depth %d", len(v), depth+1)
		}
		for _, e := range v {
			checkLimits(t, e, l, depth+1)
		}
	}
}
