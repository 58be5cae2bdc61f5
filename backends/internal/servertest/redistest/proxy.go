package redistest

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a server, for the faults a
// container cannot make: it can let one EXEC through to the server and
// lose its reply (the client sees the connection drop after the server
// applied the transaction: the ambiguous write), and it counts the bytes
// the server sends, to check how much a call reads.
type Proxy struct {
	ln     net.Listener
	target string

	armed     atomic.Bool
	swallowed chan struct{}
	down      atomic.Int64 // bytes server -> client

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy on 127.0.0.1 to target and stops it when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newProxy(t, ln, target)
}

// NewUnixProxy starts a proxy listening on the Unix socket path to target
// (TCP), and stops it when t ends: the test servers listen in containers,
// whose sockets the host cannot reach.
func NewUnixProxy(t testing.TB, path, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return newProxy(t, ln, target)
}

func newProxy(t testing.TB, ln net.Listener, target string) *Proxy {
	p := &Proxy{ln: ln, target: target, swallowed: make(chan struct{}, 1), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port, or its socket path.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// LoseNextExecReply arms the proxy: the next EXEC a client sends is
// forwarded, then that client's connection is cut without the reply.
// Swallowed is signalled when it has happened.
func (p *Proxy) LoseNextExecReply() { p.armed.Store(true) }

// Swallowed is signalled once per lost EXEC reply.
func (p *Proxy) Swallowed() <-chan struct{} { return p.swallowed }

// BytesDown is how many bytes the server has sent through the proxy.
func (p *Proxy) BytesDown() int64 { return p.down.Load() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// execCommand is EXEC as a RESP array, as every client sends it; the case
// varies (go-redis writes "exec"). JSON payloads cannot contain it: they
// escape CR and LF.
var execCommand = []byte("*1\r\n$4\r\nexec\r\n")

// applyWait is how long the proxy lets the server work on a transaction
// before cutting the connection.
const applyWait = 300 * time.Millisecond

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	var swallow atomic.Bool
	p.wg.Add(1)
	go func() { // server -> client
		defer p.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				p.down.Add(int64(n))
				if !swallow.Load() {
					if _, werr := client.Write(buf[:n]); werr != nil {
						_ = server.Close()
						return
					}
				}
			}
			if err != nil {
				_ = client.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	var tail []byte // the end of the previous read, for an EXEC split across reads
	for {
		n, err := client.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			look := append(tail, chunk...)
			if p.armed.Load() && bytes.Contains(bytes.ToLower(look), execCommand) && p.armed.CompareAndSwap(true, false) {
				swallow.Store(true)
				_, _ = server.Write(chunk)
				time.Sleep(applyWait)
				_ = client.Close()
				_ = server.Close()
				select {
				case p.swallowed <- struct{}{}:
				default:
				}
				return
			}
			if _, werr := server.Write(chunk); werr != nil {
				_ = client.Close()
				return
			}
			tail = append(tail[:0], look[max(0, len(look)-len(execCommand)):]...)
		}
		if err != nil {
			_ = server.Close()
			return
		}
	}
}
