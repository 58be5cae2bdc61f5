package redisconf

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/apt-detection/alertstore/registry"
)

// The schemes that name several nodes (Sentinel's sentinels, a cluster's
// seeds) share the parsing of their addr= lists and of the data nodes'
// parameters here, so that one DSN spelling means one thing in both.

// addrShape is the shape of host:port, [ipv6]:port and [fe80::1%zone]:port:
// an addr= value of any other shape may be a misplaced secret and is not
// printed.
var addrShape = regexp.MustCompile(`^(\[[0-9A-Za-z:.%_-]*\]?|[A-Za-z0-9._:-]*)(:[0-9A-Za-z]*)?$`)

// hostName is what a host outside brackets may be: a DNS name or an IPv4
// address.
var hostName = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?$`)

// PrintableAddr reports whether an addr= value has the shape of an address,
// so that an error about it may quote it.
func PrintableAddr(s string) bool { return addrShape.MatchString(s) }

// HostPort checks a node address, host[:port] or [ipv6][:port] (a zone
// written [fe80::1%zone]), and returns it as host:port with defaultPort
// filled in.
func HostPort(s string, defaultPort int) (string, error) {
	var host, port string
	switch {
	case s == "":
		return "", fmt.Errorf("empty address")
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", fmt.Errorf("missing ']' after the IPv6 address")
		}
		host = s[1:end]
		switch rest := s[end+1:]; {
		case rest == "":
		case rest == ":":
			return "", fmt.Errorf("empty port")
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return "", fmt.Errorf("unexpected %q after the IPv6 address", rest)
		}
		ip, zone, hasZone := strings.Cut(host, "%")
		if net.ParseIP(ip) == nil || !strings.Contains(ip, ":") || hasZone && zone == "" {
			return "", fmt.Errorf("%q is not an IPv6 address", host)
		}
	case strings.Count(s, ":") > 1:
		return "", fmt.Errorf("an IPv6 address goes in brackets: [%s]:%d", s, defaultPort)
	default:
		var found bool
		host, port, found = strings.Cut(s, ":")
		if found && port == "" {
			return "", fmt.Errorf("empty port")
		}
		if host == "" {
			return "", fmt.Errorf("no host")
		}
		if !hostName.MatchString(host) {
			return "", fmt.Errorf("%q is not a host name or IPv4 address", host)
		}
	}
	p := defaultPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q is not in 1..65535", port)
		}
		p = n
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// ParseNodes runs Parse on a DSN made of dsn's scheme, user info and first
// host, path (a database, or empty) and every parameter but own (the
// scheme's own parameters, which dsn's parser reads). The shared parameters
// are consumed on it by Common, exactly as the registry did on dsn, so
// what Parse rejects as unknown is unknown to both, and a secret is
// counted, not named. Errors name dsn, the DSN the user wrote; warnings go
// to dsn. On success every parameter of dsn is marked read.
func ParseNodes(dsn *registry.DSN, path string, own []string) (Config, error) {
	u := dsn.URL()
	inner := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: path, RawQuery: u.RawQuery}
	d, err := registry.ParseDSN(inner.String())
	if err != nil {
		return Config{}, err
	}
	d.SetLoggerOf(dsn)
	for _, p := range own {
		d.Params(p)
	}
	if _, err := d.Common(); err != nil {
		return Config{}, err
	}
	defer func() {
		for _, w := range d.Warnings() {
			dsn.Warn("%s", w)
		}
	}()
	rc, err := Parse(d, TCP)
	if err != nil {
		return rc, renameDSN(err, d, dsn)
	}
	for name := range u.Query() {
		dsn.Params(name)
	}
	// The TLS server name defaults to each node's own host, not the first
	// one's: crypto/tls fills in the dialled host when it is empty.
	if rc.TLS != nil && !dsn.Has("tls_server_name") {
		rc.TLS.ServerName = ""
	}
	return rc, nil
}

// renameDSN makes an error about the inner DSN of ParseNodes name the
// user's DSN instead, which is the one they wrote.
func renameDSN(err error, inner, outer *registry.DSN) error {
	msg := err.Error()
	marker := "DSN " + inner.String() + ": "
	if i := strings.Index(msg, marker); i >= 0 {
		return outer.Errorf("%s", msg[i+len(marker):])
	}
	return err
}
