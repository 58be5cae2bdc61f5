package goredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/internal/resp"
)

// fakeTx is a scripted Redis server for the append transaction: it
// answers the connection's handshake, QUEUED (or queued[cmd]) inside
// MULTI, and exec as EXEC's raw reply. It records the commands it read
// and whether WAIT arrived before it answered EXEC: the reply to EXEC is
// held up to holdExec for a WAIT already on its way, which comes only if
// the client sent it in the same round trip.
type fakeTx struct {
	script
	holdExec time.Duration

	mu            sync.Mutex
	cmds          []string
	waitWithExec  bool // WAIT was read before EXEC was answered
	readAfterExec bool
}

// script is what a fakeTx answers.
type script struct {
	queued map[string]string // raw reply to a command inside MULTI; default +QUEUED
	exec   string            // raw reply to EXEC; "" closes the connection instead
	wait   string            // raw reply to WAIT
}

func (f *fakeTx) serve(t *testing.T) string { return loopbackServer(t, f.conn) }

// loopbackServer listens on a free loopback port until the test ends and
// runs handle for every connection; it returns the address.
func loopbackServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// readCmd reads one command (a RESP array of bulk strings) and returns
// its words.
func readCmd(r *bufio.Reader) ([]string, error) {
	v, err := resp.Read(r)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("not a command: %v", v)
	}
	words := make([]string, len(arr))
	for i, w := range arr {
		if words[i], ok = w.(string); !ok {
			return nil, fmt.Errorf("not a bulk string: %v", w)
		}
	}
	return words, nil
}

func (f *fakeTx) conn(c net.Conn) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReader(c)
	multi := false
	for {
		words, err := readCmd(r)
		if err != nil {
			return
		}
		name := strings.ToUpper(words[0])
		f.mu.Lock()
		f.cmds = append(f.cmds, name)
		f.mu.Unlock()
		reply := "+OK\r\n"
		switch {
		case name == "HELLO":
			reply = "-ERR unknown command 'HELLO'\r\n" // speak RESP2
		case name == "MULTI":
			multi = true
		case name == "EXEC":
			multi = false
			if f.exec == "" {
				return // the reply is lost
			}
			reply = f.exec
			// Is WAIT already on its way? Only if it was sent with EXEC.
			_ = c.SetReadDeadline(time.Now().Add(f.holdExec))
			next, err := readCmd(r)
			_ = c.SetReadDeadline(time.Time{})
			if err == nil {
				f.mu.Lock()
				f.cmds = append(f.cmds, strings.ToUpper(next[0]))
				f.waitWithExec = strings.EqualFold(next[0], "WAIT")
				f.mu.Unlock()
				reply += f.wait
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				r = bufio.NewReader(c) // nothing was read: start afresh
			} else {
				return
			}
		case name == "WAIT":
			f.mu.Lock()
			f.readAfterExec = true
			f.mu.Unlock()
			reply = f.wait
		case multi:
			reply = "+QUEUED\r\n"
			if q, ok := f.queued[name]; ok {
				reply = q
			}
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// execReply is the raw EXEC reply of the Sentinel transaction: ROLE,
// then RPUSH, INCRBY, LTRIM, PUBLISH, MGET with the given raw replies.
func execReply(role, rpush, incrby string) string {
	return "*6\r\n" +
		"*3\r\n$" + strconv.Itoa(len(role)) + "\r\n" + role + "\r\n:0\r\n*0\r\n" +
		rpush + incrby + "+OK\r\n:0\r\n*1\r\n$3\r\n100\r\n"
}

// TestAppendWaitInSameRoundTrip checks the append transaction's replies
// against a scripted server: with min_replicas, WAIT goes in the same
// round trip as MULTI..EXEC (the server sees it before it answers EXEC),
// and the result keeps its meaning: acknowledged replicas only when ROLE
// said master and EXEC ran; a failed or lost EXEC is an error (nothing
// acknowledged), a failed WAIT is WaitErr. A command refused while
// queued fails the append with its own reply's class (READONLY:
// ErrUnavailable, so the Sentinel backend looks for the master again;
// NOPERM: ErrSecurity), not with EXECABORT's.
func TestAppendWaitInSameRoundTrip(t *testing.T) {
	const hold = 2 * time.Second
	for _, tc := range []struct {
		name     string
		fake     script
		o        redislist.AppendOptions
		wantErr  error                  // errors.Is; nil: no error
		wantRes  redislist.AppendResult // when no error
		noWait   bool                   // WAIT must not be sent at all
		checkRTT bool                   // WAIT must reach the server before EXEC's reply
	}{
		{
			name:     "acknowledged",
			fake:     script{exec: execReply("master", ":5\r\n", ":5\r\n"), wait: ":1\r\n"},
			o:        redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantRes:  redislist.AppendResult{Role: "master", Pushed: 5, Seq: 5, Acked: 1, Cap: 100},
			checkRTT: true,
		},
		{
			name:     "too-few-replicas",
			fake:     script{exec: execReply("master", ":5\r\n", ":5\r\n"), wait: ":0\r\n"},
			o:        redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantRes:  redislist.AppendResult{Role: "master", Pushed: 5, Seq: 5, Acked: 0, Cap: 100},
			checkRTT: true,
		},
		{
			name:    "wait-refused",
			fake:    script{exec: execReply("master", ":5\r\n", ":5\r\n"), wait: "-NOPERM no WAIT for you\r\n"},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantRes: redislist.AppendResult{Role: "master", Pushed: 5, Seq: 5, Acked: -1, Cap: 100},
		},
		{
			// WAIT's count from a node that is not master means nothing.
			name:    "replica-wait-ignored",
			fake:    script{exec: execReply("slave", ":5\r\n", ":5\r\n"), wait: ":2\r\n"},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantRes: redislist.AppendResult{Role: "slave", Pushed: 5, Seq: 5, Acked: -1, Cap: 100},
		},
		{
			name: "exec-aborted",
			fake: script{
				queued: map[string]string{"RPUSH": "-READONLY You can't write against a read only replica.\r\n"},
				exec:   "-EXECABORT Transaction discarded because of previous errors.\r\n",
				wait:   ":2\r\n",
			},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantErr: backend.ErrUnavailable,
		},
		{
			name: "role-refused",
			fake: script{
				queued: map[string]string{"ROLE": "-NOPERM User alertstore has no permissions to run the 'role' command\r\n"},
				exec:   "-EXECABORT Transaction discarded because of previous errors.\r\n",
				wait:   ":2\r\n",
			},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantErr: backend.ErrSecurity,
		},
		{
			name:    "exec-reply-lost",
			fake:    script{wait: ":2\r\n"},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantErr: backend.ErrUnavailable,
		},
		{
			name:    "rpush-wrongtype",
			fake:    script{exec: execReply("master", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", ":5\r\n"), wait: ":1\r\n"},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantErr: errAny,
		},
		{
			name:    "incrby-fails",
			fake:    script{exec: execReply("master", ":5\r\n", "-ERR value is not an integer or out of range\r\n"), wait: ":1\r\n"},
			o:       redislist.AppendOptions{Role: true, MinReplicas: 1, ReplicaTimeout: time.Second},
			wantRes: redislist.AppendResult{Role: "master", Pushed: 5, Seq: -1, Acked: 1, Cap: 100},
		},
		{
			name:    "plain",
			fake:    script{exec: "*5\r\n:5\r\n:5\r\n+OK\r\n:0\r\n*1\r\n$-1\r\n"},
			wantRes: redislist.AppendResult{Pushed: 5, Seq: 5, Acked: -1},
			noWait:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTx{script: tc.fake, holdExec: 10 * time.Millisecond}
			if tc.o.MinReplicas > 0 {
				f.holdExec = hold
			}
			rdb := redis.NewClient(&redis.Options{Addr: f.serve(t), MaxRetries: -1, DisableIdentity: true, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = rdb.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			k := redislist.NewKeys("t:")
			start := time.Now()
			got, err := newClient(rdb).Append(ctx, k, [][]byte{[]byte(`{"a":1}`)}, 100, tc.o)
			elapsed := time.Since(start)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Append: %v", err)
			case errors.Is(tc.wantErr, errAny) && err == nil, tc.wantErr != nil && !errors.Is(tc.wantErr, errAny) && !errors.Is(err, tc.wantErr):
				t.Fatalf("Append error %v, want %v", err, tc.wantErr)
			}
			gotWaitErr := got.WaitErr != nil
			got.WaitErr = nil
			switch {
			case err != nil && got.Acked != -1:
				t.Errorf("the append failed (%v), yet %d replicas acknowledged it", err, got.Acked)
			case err == nil && got != tc.wantRes:
				t.Errorf("result %+v, want %+v", got, tc.wantRes)
			}
			if want := tc.name == "wait-refused"; gotWaitErr != want {
				t.Errorf("WaitErr set: %v, want %v", gotWaitErr, want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if tc.noWait && slices.Contains(f.cmds, "WAIT") {
				t.Errorf("WAIT sent without min_replicas: %v", f.cmds)
			}
			if tc.checkRTT && (!f.waitWithExec || f.readAfterExec || elapsed >= hold) {
				t.Errorf("WAIT did not come with EXEC (commands %v, %s): min_replicas costs a second round trip", f.cmds, elapsed)
			}
		})
	}
}

// errAny in wantErr asks for an error of any kind.
var errAny = errors.New("any error")
