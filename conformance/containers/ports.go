package containers

import (
	"fmt"
	"net"
	"sync"
)

// With host networking Docker maps no ports: we choose each server's port
// ourselves, on 127.0.0.1, before the container starts. The kernel hands out
// a port that is free now; another process may take it before the server
// binds it, so a start that fails with "Address already in use" is retried
// on a new port (see Start). Ports handed out by this process are never
// handed out again by it, so two servers of one test binary cannot collide
// even after the first one is stopped (its port must stay its own, for
// Start to bring it back on the same address).

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a 127.0.0.1 TCP port that is free now and was not handed
// out before by this process.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("containers: find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		// A cluster node's bus port is chosen here too and set with
		// --cluster-port (cluster.go), so port+10000 never matters.
		if !portsUsed[port] {
			portsUsed[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("containers: no unused free port found")
}
