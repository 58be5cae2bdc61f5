package sentinel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// fakeServer is an in-process RESP2 server answering each command with
// what the connection's handler returns: a sentinel or a data node as the
// master check sees it, without containers.
type fakeServer struct {
	addr    string
	handler func() func(args []string) string // per connection; raw RESP replies
	conns   atomic.Int64
}

func newFakeServer(t *testing.T, handler func() func(args []string) string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{addr: ln.Addr().String(), handler: handler}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	reply := f.handler()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		args := make([]string, n)
		for i := range args {
			if _, err := r.ReadString('\n'); err != nil { // $len
				return
			}
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			args[i] = strings.TrimSuffix(s, "\r\n")
		}
		if _, err := io.WriteString(c, reply(args)); err != nil {
			return
		}
	}
}

// fakeSentinel names master for "mymaster" and knows no other name; it
// requires password if one is given.
func fakeSentinel(t *testing.T, master, password string) *fakeServer {
	host, port, _ := net.SplitHostPort(master)
	return newFakeServer(t, func() func([]string) string {
		authed := password == ""
		return func(args []string) string {
			switch strings.ToUpper(args[0]) {
			case "AUTH":
				if args[len(args)-1] != password {
					return "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
				}
				authed = true
				return "+OK\r\n"
			case "SENTINEL":
				if !authed {
					return "-NOAUTH Authentication required.\r\n"
				}
				if strings.ToUpper(args[1]) == "REPLICAS" {
					return "*0\r\n"
				}
				if args[2] != "mymaster" {
					return "*-1\r\n"
				}
				return fmt.Sprintf("*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(host), host, len(port), port)
			}
			return "-ERR unknown command\r\n"
		}
	})
}

// fakeNode answers ROLE with role.
func fakeNode(t *testing.T, role string) *fakeServer {
	return newFakeServer(t, func() func([]string) string {
		return func(args []string) string {
			if strings.ToUpper(args[0]) == "ROLE" {
				return fmt.Sprintf("*1\r\n$%d\r\n%s\r\n", len(role), role)
			}
			return "+OK\r\n"
		}
	})
}

func testMonitor(sentinels []string, sentinelPassword string) *monitor {
	return newMonitor(Config{
		MasterName:       "mymaster",
		Sentinels:        sentinels,
		SentinelPassword: sentinelPassword,
		Timeout:          2 * time.Second,
		CheckInterval:    time.Second,
	}, func(string, map[string]bool) {})
}

func TestMonitorResolve(t *testing.T) {
	master := fakeNode(t, "master")
	replica := fakeNode(t, "slave")
	down := func() string { // an address where nothing listens
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	ctx := context.Background()

	t.Run("MajorityAnswerConfirmed", func(t *testing.T) {
		m := testMonitor([]string{
			fakeSentinel(t, master.addr, "").addr,
			fakeSentinel(t, replica.addr, "").addr, // stale
			fakeSentinel(t, master.addr, "").addr,
		}, "")
		got, err := m.resolve(ctx)
		if err != nil || got != master.addr {
			t.Fatalf("resolve = %q, %v; want %s", got, err, master.addr)
		}
		if cur, _ := m.current(); cur != master.addr {
			t.Errorf("current = %q", cur)
		}
	})
	t.Run("MinorityAnswerWhenTheMajorityNamesAReplica", func(t *testing.T) {
		// ROLE decides, not the vote: two stale sentinels name a node that
		// is a replica now.
		m := testMonitor([]string{
			fakeSentinel(t, replica.addr, "").addr,
			fakeSentinel(t, replica.addr, "").addr,
			fakeSentinel(t, master.addr, "").addr,
		}, "")
		if got, err := m.resolve(ctx); err != nil || got != master.addr {
			t.Fatalf("resolve = %q, %v; want %s", got, err, master.addr)
		}
	})
	t.Run("OneSentinelUp", func(t *testing.T) {
		m := testMonitor([]string{down, fakeSentinel(t, master.addr, "").addr}, "")
		if got, err := m.resolve(ctx); err != nil || got != master.addr {
			t.Fatalf("resolve = %q, %v", got, err)
		}
	})
	t.Run("NoMasterConfirmed", func(t *testing.T) {
		m := testMonitor([]string{fakeSentinel(t, replica.addr, "").addr}, "")
		_, err := m.resolve(ctx)
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "answers ROLE slave") {
			t.Fatalf("resolve = %v; want ErrUnavailable saying the node is a replica", err)
		}
	})
	t.Run("NamedMasterDown", func(t *testing.T) {
		m := testMonitor([]string{fakeSentinel(t, down, "").addr}, "")
		if _, err := m.resolve(ctx); !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), down) {
			t.Fatalf("resolve = %v; want ErrUnavailable naming %s", err, down)
		}
	})
	t.Run("NoSentinelAnswers", func(t *testing.T) {
		m := testMonitor([]string{down}, "")
		_, err := m.resolve(ctx)
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "no sentinel answered (tried "+down+")") {
			t.Fatalf("resolve = %v", err)
		}
	})
	t.Run("UnknownMasterName", func(t *testing.T) {
		m := testMonitor([]string{fakeSentinel(t, master.addr, "").addr}, "")
		m.name = "other"
		_, err := m.resolve(ctx)
		if !errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrUnavailable) {
			t.Fatalf("resolve = %v; want ErrNotFound", err)
		}
	})
	t.Run("SentinelCredentialsRefused", func(t *testing.T) {
		s := fakeSentinel(t, master.addr, "right")
		for _, pw := range []string{"", "wrong"} {
			m := testMonitor([]string{s.addr}, pw)
			_, err := m.resolve(ctx)
			if !errors.Is(err, backend.ErrSecurity) || errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "sentinel_password") {
				t.Errorf("password %q: resolve = %v; want ErrSecurity naming sentinel_password", pw, err)
			}
			if pw != "" && strings.Contains(err.Error(), pw) {
				t.Errorf("the error shows the password: %v", err)
			}
		}
		if got, err := testMonitor([]string{s.addr}, "right").resolve(ctx); err != nil || got != master.addr {
			t.Errorf("with the right password: %q, %v", got, err)
		}
	})
}

// TestMonitorChecksPeriodically: the check runs every interval and after a
// kick, but kicks in a burst make one check, not a burst of probes.
func TestMonitorChecksPeriodically(t *testing.T) {
	master := fakeNode(t, "master")
	s := fakeSentinel(t, master.addr, "")
	var calls atomic.Int64
	m := newMonitor(Config{MasterName: "mymaster", Sentinels: []string{s.addr}, Timeout: time.Second, CheckInterval: 300 * time.Millisecond},
		func(got string, _ map[string]bool) {
			if got == master.addr {
				calls.Add(1)
			}
		})
	m.start()
	defer m.stop()
	time.Sleep(1100 * time.Millisecond)
	periodic := calls.Load()
	if periodic < 2 || periodic > 5 {
		t.Errorf("%d checks in 1.1s at a 300ms interval", periodic)
	}
	before := s.conns.Load()
	for range 1000 {
		m.kick()
	}
	time.Sleep(200 * time.Millisecond)
	if n := s.conns.Load() - before; n > 2 {
		t.Errorf("1000 kicks made %d sentinel connections in 200ms", n)
	}
	m.stop()
	after := s.conns.Load()
	time.Sleep(700 * time.Millisecond)
	if s.conns.Load() != after {
		t.Error("the monitor probed after stop")
	}
}
