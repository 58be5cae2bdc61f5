// Package redisconf parses the connection parameters the Redis-protocol
// backends share (goredis on go-redis, valkey on valkey-go), so that both
// spell every parameter the same way and reject the same mistakes.
//
// It is ours on purpose: a DSN is never handed to a client library's own URL
// parser. go-redis' ParseURL quotes the whole URL, password included, in its
// errors; valkey-go's ignores parameters it does not know, so a typo such as
// "dial_timout=1s" would silently fall back to a default. Here every
// parameter is consumed through registry.DSN's getters and whatever is left
// is rejected by name, before any network I/O.
//
// The result is a plain Config that each backend translates into its
// client's options.
package redisconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/apt-detection/alertstore/registry"
)

// Transport is how a scheme reaches its server; each backend maps its
// schemes to one (goredis: redis=TCP, rediss=TLS, unix=Unix).
type Transport int

// The transports.
const (
	// TCP is plain TCP to host:port.
	TCP Transport = iota
	// TLS is TCP with TLS, whatever the tls parameter says (it may only
	// repeat tls=true).
	TLS
	// Unix is a Unix domain socket whose path is the DSN's path.
	Unix
)

// Defaults and bounds of the parameters.
const (
	// DefaultPort is used when a tcp DSN names no port.
	DefaultPort = 6379
	// MaxDB is the largest database number accepted. Redis' default is
	// 16 databases (0..15); servers configured with more exist, and the
	// server itself rejects a number it does not have.
	MaxDB = 10000
	// DefaultDialTimeout bounds establishing one connection.
	DefaultDialTimeout = 5 * time.Second
	// MaxPoolSize is the largest pool_size accepted.
	MaxPoolSize = 10000
	// minTimeout and maxTimeout bound the timeout parameters.
	minTimeout = time.Millisecond
	maxTimeout = 10 * time.Minute
)

// Config is where and how to connect, as parsed from a DSN. The zero value
// of an optional field means "not given"; the backends document what they
// then use.
type Config struct {
	// Network is "tcp" or "unix".
	Network string
	// Addr is host:port for tcp (IPv6 hosts bracketed, "[::1]:6379"), the
	// socket path for unix.
	Addr string
	// Host is the host name of a tcp Addr, without brackets or port: the
	// default TLS server name.
	Host string
	// DB is the logical database selected after connecting.
	DB int
	// Username and Password authenticate (AUTH [username] password).
	// Username empty with a password is the requirepass "default" user.
	Username string
	Password string
	// DialTimeout bounds establishing a connection. Default
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound one socket read or write; 0 means
	// not given (the backends then use the store's timeout parameter).
	// Every call is bounded by its context deadline in any case.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolSize caps the connections of the pool; 0 means the client
	// library's default.
	PoolSize int
	// TLS is the TLS configuration, or nil for plain TCP.
	TLS *tls.Config
}

// String describes the configuration for logs and errors, the password
// replaced by "xxxxx".
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s db=%d", c.Network, c.Addr, c.DB)
	if c.Username != "" {
		fmt.Fprintf(&b, " username=%s", c.Username)
	}
	if c.Password != "" {
		b.WriteString(" password=xxxxx")
	}
	if c.TLS != nil {
		b.WriteString(" tls=true")
		if c.TLS.ServerName != "" && c.TLS.ServerName != c.Host {
			fmt.Fprintf(&b, " tls_server_name=%s", c.TLS.ServerName)
		}
		if c.TLS.InsecureSkipVerify {
			b.WriteString(" tls_insecure_skip_verify=true")
		}
	}
	return b.String()
}

// GoString keeps %#v from printing the password.
func (c Config) GoString() string { return "redisconf.Config{" + c.String() + "}" }

// Parse reads the connection parameters of dsn for transport t. The shared
// store parameters (prefix, max_alerts, ...) must already have been
// consumed (registry.DSN.Common); Parse consumes the rest it knows and
// fails, naming the parameter, on anything left over, before it reads any
// TLS file. Errors wrap backend.ErrInvalidConfig and never contain a secret.
//
// Accepted forms:
//
//	redis://[user[:password]@]host[:port][/db][?params]
//	unix:///path/to/redis.sock[?db=N&params]
func Parse(dsn *registry.DSN, t Transport) (Config, error) {
	var c Config
	u := dsn.URL()

	// Where.
	switch t {
	case TCP, TLS:
		c.Network = "tcp"
		if err := parseHostPort(dsn, &c); err != nil {
			return c, err
		}
	case Unix:
		c.Network = "unix"
		if u.Host != "" {
			return c, dsn.Errorf("a unix socket DSN has no host: write %s:///path/to/redis.sock (three slashes)", dsn.Scheme())
		}
		if u.Path == "" || u.Path == "/" {
			return c, dsn.Errorf("no socket path: write %s:///path/to/redis.sock", dsn.Scheme())
		}
		c.Addr = u.Path
	default:
		return c, dsn.Errorf("unknown transport %d", t)
	}

	// Which database: the path (tcp) or db= (both).
	pathDB := -1
	if t != Unix {
		p := strings.TrimPrefix(u.Path, "/")
		if p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || strings.ContainsAny(p, "+-") {
				return c, dsn.Errorf("path %q is not a database number (want /0 .. /%d)", u.Path, MaxDB)
			}
			if n < 0 || n > MaxDB {
				return c, dsn.Errorf("database %d is out of range [0, %d]", n, MaxDB)
			}
			pathDB = n
		}
	}
	if dsn.Has("db") && pathDB >= 0 {
		return c, dsn.Errorf("database given twice, as the path /%d and as db=; give one", pathDB)
	}
	db, err := dsn.Int("db", max(pathDB, 0), 0, MaxDB)
	if err != nil {
		return c, err
	}
	c.DB = db

	// Who. The user info and the parameters are alternatives, not layers:
	// a value given twice is more likely a mistake than an override.
	if u.User != nil {
		c.Username = u.User.Username()
	}
	if dsn.Has("username") {
		if c.Username != "" {
			return c, dsn.Errorf("username given twice, in the user info and as username=; give one")
		}
		if c.Username, err = dsn.Param("username", ""); err != nil {
			return c, err
		}
		if c.Username == "" {
			return c, dsn.Errorf("username= is empty")
		}
	}
	infoPass, hasInfoPass := dsn.Password()
	pass, hasPass, err := dsn.Secret("password")
	if err != nil {
		return c, err
	}
	switch {
	case hasInfoPass && hasPass:
		return c, dsn.Errorf("password given twice, in the user info and as password= or password_file=; give one")
	case hasInfoPass:
		c.Password = infoPass
	case hasPass:
		c.Password = pass
	}
	if err := checkCredentials(dsn, c, u.User != nil, hasInfoPass); err != nil {
		return c, err
	}

	// How long.
	if c.DialTimeout, err = dsn.Duration("dial_timeout", DefaultDialTimeout, minTimeout, maxTimeout); err != nil {
		return c, err
	}
	if c.ReadTimeout, err = dsn.Duration("read_timeout", 0, minTimeout, maxTimeout); err != nil {
		return c, err
	}
	if c.WriteTimeout, err = dsn.Duration("write_timeout", 0, minTimeout, maxTimeout); err != nil {
		return c, err
	}
	if c.PoolSize, err = dsn.Int("pool_size", 0, 1, MaxPoolSize); err != nil {
		return c, err
	}

	// TLS parameters are read now and applied after the unknown check.
	tp, err := readTLSParams(dsn, t)
	if err != nil {
		return c, err
	}
	if err := dsn.Unknown(); err != nil {
		return c, err
	}
	if tp.enabled {
		if c.TLS, err = tp.build(dsn, c.Host); err != nil {
			return c, err
		}
		if c.TLS.InsecureSkipVerify {
			WarnInsecureTo(dsn.Logger(), dsn.Scheme(), c.Host)
		}
	}
	return c, nil
}

// InsecureSkipVerifyWarning is the message of the record WarnInsecure
// logs.
const InsecureSkipVerifyWarning = "alertstore: tls_insecure_skip_verify=true: the server's certificate is not checked, so anyone on the network path can impersonate it, and read and alter the alerts; use tls_ca instead"

// SecurityAttr is the attribute key of the security warnings the Redis
// backends log (its value names the finding): the command prints every
// record carrying it on stderr, and `alertstore status` lists them.
const SecurityAttr = "security"

// WarnInsecure logs, at warning level through log/slog's default logger,
// that a connection's server certificate is not verified. Parse calls it
// on every open of a DSN with tls_insecure_skip_verify=true, so the
// warning recurs as long as the setting stays.
func WarnInsecure(scheme, host string) { WarnInsecureTo(slog.Default(), scheme, host) }

// WarnInsecureTo is WarnInsecure to l: Parse logs to the logger of the ctx
// the DSN was opened with (registry.DSN.Logger).
func WarnInsecureTo(l *slog.Logger, scheme, host string) {
	l.Warn(InsecureSkipVerifyWarning, SecurityAttr, "tls_insecure_skip_verify", "scheme", scheme, "host", host)
}

// checkCredentials refuses the credentials a client library would not
// send as given: with an empty password, or a user name and no password,
// go-redis and valkey-go send no AUTH at all and the connection runs as
// the server's "default" user, not the restricted user the DSN names.
// (password= and password_file= are checked by registry.DSN.Secret.)
func checkCredentials(dsn *registry.DSN, c Config, hasUserInfo, hasInfoPass bool) error {
	switch {
	case hasInfoPass && c.Password == "":
		return dsn.Errorf("the password in the user info is empty: an empty password is never sent (the connection would run as the default user); give the password, or leave out the user info")
	case hasInfoPass && strings.ContainsAny(c.Password, "\r\n\x00"):
		return dsn.Errorf("the password in the user info holds a line break or NUL, which no password may hold")
	case hasUserInfo && c.Username == "" && !hasInfoPass:
		return dsn.Errorf("an '@' with neither user name nor password before it")
	case c.Username != "" && c.Password == "":
		return dsn.Errorf("a user name without a password: no AUTH would be sent and the connection would run as the default user; give the password (user:password@, password= or password_file=; if what you wrote is the password, write :password@)")
	}
	return nil
}

// parseHostPort fills Addr and Host of a tcp DSN.
func parseHostPort(dsn *registry.DSN, c *Config) error {
	u := dsn.URL()
	host := u.Hostname()
	if host == "" {
		return dsn.Errorf("no host (want %s://host:port, e.g. %s://localhost:6379/0)", dsn.Scheme(), dsn.Scheme())
	}
	port := DefaultPort
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return dsn.Errorf("port %q is not in 1..65535", p)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return dsn.Errorf("empty port after %q", host)
	}
	c.Host = host
	c.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

type tlsParams struct {
	enabled            bool
	ca, cert, key      string
	serverName         string
	insecureSkipVerify bool
}

func readTLSParams(dsn *registry.DSN, t Transport) (tlsParams, error) {
	var p tlsParams
	var err error
	explicit := dsn.Has("tls")
	if p.enabled, err = dsn.Bool("tls", t == TLS); err != nil {
		return p, err
	}
	if t == TLS && !p.enabled {
		return p, dsn.Errorf("tls=false contradicts the scheme %s, which always uses TLS", dsn.Scheme())
	}
	if t == Unix && p.enabled && explicit {
		return p, dsn.Errorf("TLS over a unix socket is not supported")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"tls_ca", &p.ca}, {"tls_cert", &p.cert}, {"tls_key", &p.key}, {"tls_server_name", &p.serverName}} {
		if *f.dst, err = dsn.Param(f.name, ""); err != nil {
			return p, err
		}
	}
	if p.insecureSkipVerify, err = dsn.Bool("tls_insecure_skip_verify", false); err != nil {
		return p, err
	}
	if !p.enabled {
		for _, name := range []string{"tls_ca", "tls_cert", "tls_key", "tls_server_name", "tls_insecure_skip_verify"} {
			if dsn.Has(name) {
				return p, dsn.Errorf("%s given but TLS is off (use the TLS scheme or tls=true)", name)
			}
		}
	}
	if (p.cert == "") != (p.key == "") {
		return p, dsn.Errorf("tls_cert and tls_key go together (a client certificate needs both)")
	}
	return p, nil
}

// build reads the files and assembles the tls.Config. TLS 1.2 is the
// floor: Redis 6+ and Valkey speak 1.2 and 1.3.
func (p tlsParams) build(dsn *registry.DSN, host string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: p.insecureSkipVerify, //nolint:gosec // opted into by the DSN, documented as for testing only
	}
	if p.serverName != "" {
		cfg.ServerName = p.serverName
	}
	if p.ca != "" {
		pem, err := dsn.ReadFile("tls_ca", p.ca, registry.MaxPEMFileBytes, false)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, dsn.Errorf("tls_ca %q holds no PEM certificate", p.ca)
		}
		cfg.RootCAs = pool
	}
	if p.cert != "" {
		// Read through the DSN, bounded, the key with the check that
		// others cannot read it; then parsed in memory.
		certPEM, err := dsn.ReadFile("tls_cert", p.cert, registry.MaxPEMFileBytes, false)
		if err != nil {
			return nil, err
		}
		keyPEM, err := dsn.ReadFile("tls_key", p.key, registry.MaxPEMFileBytes, true)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The error names formats, never key material.
			return nil, dsn.Errorf("loading tls_cert %q / tls_key %q: %v", p.cert, p.key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
