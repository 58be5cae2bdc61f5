package containers

import "time"

// Option configures a server started by [Start] or [StartServer].
type Option func(*serverConfig)

type serverConfig struct {
	aof            bool
	password       string
	args           []string
	startupTimeout time.Duration
	logf           func(format string, args ...any)
	tls            *TLSFiles
	tlsOnly        bool // WithTLSOnly: port 0, the TLS port is the address

	// Set by the topology code, not by options: a sentinel runs from a
	// config file instead of command-line settings.
	sentinelConf func(port int) string
}

func newServerConfig(opts []Option) serverConfig {
	cfg := serverConfig{startupTimeout: 60 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithAOF enables the append-only file with an fsync on every write
// (--appendonly yes --appendfsync always), so that writes acknowledged
// before a Kill survive the restart: durability tests need exactly that.
// The file lives in the container's /data, which outlives Stop and Kill.
func WithAOF() Option { return func(c *serverConfig) { c.aof = true } }

// WithArgs appends arguments to the server command line, after the
// defaults, so they override them (e.g. "--maxmemory", "10mb").
func WithArgs(args ...string) Option {
	return func(c *serverConfig) { c.args = append(c.args, args...) }
}

// WithPassword sets --requirepass, and --masterauth so that the server can
// also be a replica of another one with the same password (after a failover
// the old master becomes one). The helpers' own commands (PING, CLI, the
// topology gates) authenticate with it.
func WithPassword(password string) Option {
	return func(c *serverConfig) { c.password = password }
}

// WithStartupTimeout bounds how long Start and Server.Start wait for the
// server to answer PING. Default 60s: image layers are cold on a fresh CI
// machine, and two cores start six containers of a topology at once.
func WithStartupTimeout(d time.Duration) Option {
	return func(c *serverConfig) { c.startupTimeout = d }
}

// WithLogf routes testcontainers' progress messages to logf (e.g. t.Logf);
// [Start] discards them by default, [StartServer] sends them to t.Logf.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *serverConfig) { c.logf = logf }
}
