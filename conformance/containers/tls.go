package containers

import (
	"bytes"
	"strconv"

	"github.com/testcontainers/testcontainers-go"
)

// TLSFiles are the PEM files a server's TLS port uses: its certificate
// chain and key, and the CA that client certificates must chain to.
type TLSFiles struct {
	Cert, Key, CA []byte
	// ClientAuth is "yes" (a client certificate is required), "optional"
	// or "no"; empty means "no" (the servers' own default is "yes").
	ClientAuth string
}

// Where a TLS server's files go in its container.
const (
	tlsDir      = "/tls"
	tlsCertPath = tlsDir + "/server.crt"
	tlsKeyPath  = tlsDir + "/server.key"
	tlsCAPath   = tlsDir + "/ca.crt"
)

// WithTLS makes the server listen with TLS on a second port, [Server.TLSAddr],
// with the files copied into its container; the plain port stays open (on
// 127.0.0.1 only) for the helpers' own commands, so that [Server.Do],
// [Server.CLI] and the readiness checks work unchanged. The Debian-built
// and official images are built with TLS support.
func WithTLS(f TLSFiles) Option {
	return func(c *serverConfig) { c.tls = &f }
}

// tlsFiles are the container files of cfg's TLS option.
func (c serverConfig) tlsFiles() []testcontainers.ContainerFile {
	if c.tls == nil {
		return nil
	}
	file := func(b []byte, path string) testcontainers.ContainerFile {
		// World-readable: the official image runs the server as the
		// redis user; these are throwaway test files.
		return testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: path, FileMode: 0o644}
	}
	return []testcontainers.ContainerFile{
		file(c.tls.Cert, tlsCertPath), file(c.tls.Key, tlsKeyPath), file(c.tls.CA, tlsCAPath),
	}
}

// tlsArgs are the server arguments of cfg's TLS option on port.
func (c serverConfig) tlsArgs(port int) []string {
	if c.tls == nil {
		return nil
	}
	auth := c.tls.ClientAuth
	if auth == "" {
		auth = "no"
	}
	return []string{
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", tlsCertPath,
		"--tls-key-file", tlsKeyPath,
		"--tls-ca-cert-file", tlsCAPath,
		"--tls-auth-clients", auth,
	}
}

// TLSAddr is "127.0.0.1:port" of the TLS port ([WithTLS]), or "" without
// TLS.
func (s *Server) TLSAddr() string {
	if s.tlsPort == 0 {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(s.tlsPort)
}
