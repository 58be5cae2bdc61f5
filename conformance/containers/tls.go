package containers

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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
	// ClientCert and ClientKey are the certificate the server presents
	// when it is the client: a replica to its master, a sentinel to the
	// data nodes and to the other sentinels (tls-client-cert-file). The
	// helpers' own connections present it too. Needed when ClientAuth is
	// "yes" on a topology's nodes; when empty, servers and helpers present
	// Cert, which then must be valid for client authentication.
	ClientCert, ClientKey []byte
}

// Where a TLS server's files go in its container.
const (
	tlsDir            = "/tls"
	tlsCertPath       = tlsDir + "/server.crt"
	tlsKeyPath        = tlsDir + "/server.key"
	tlsCAPath         = tlsDir + "/ca.crt"
	tlsClientCertPath = tlsDir + "/client.crt"
	tlsClientKeyPath  = tlsDir + "/client.key"
)

// WithTLS makes the server listen with TLS on a second port, [Server.TLSAddr],
// with the files copied into its container; the plain port stays open (on
// 127.0.0.1 only) for the helpers' own commands, so that [Server.Do],
// [Server.CLI] and the readiness checks work unchanged. The Debian-built
// and official images are built with TLS support.
func WithTLS(f TLSFiles) Option {
	return func(c *serverConfig) { c.tls = &f }
}

// WithTLSOnly makes the server listen with TLS only ("port 0"), as a
// production TLS deployment does: [Server.Addr] and [Server.TLSAddr] are
// then the same TLS address, and the helpers' own commands ([Server.Do],
// [Server.Dial], [Server.CLI], the readiness checks) speak TLS too,
// trusting f.CA and presenting f.ClientCert (or f.Cert). Replication
// runs over TLS as well (tls-replication yes).
func WithTLSOnly(f TLSFiles) Option {
	return func(c *serverConfig) { c.tls, c.tlsOnly = &f, true }
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
	files := []testcontainers.ContainerFile{
		file(c.tls.Cert, tlsCertPath), file(c.tls.Key, tlsKeyPath), file(c.tls.CA, tlsCAPath),
	}
	if len(c.tls.ClientCert) > 0 {
		files = append(files, file(c.tls.ClientCert, tlsClientCertPath), file(c.tls.ClientKey, tlsClientKeyPath))
	}
	return files
}

// tlsSettings are cfg's TLS settings for a server on port, as
// name/value pairs: command-line arguments of a data node ("--" before
// each name) and lines of a sentinel's config file.
func (c serverConfig) tlsSettings(port int) [][2]string {
	if c.tls == nil {
		return nil
	}
	auth := c.tls.ClientAuth
	if auth == "" {
		auth = "no"
	}
	out := [][2]string{
		{"tls-port", strconv.Itoa(port)},
		{"tls-cert-file", tlsCertPath},
		{"tls-key-file", tlsKeyPath},
		{"tls-ca-cert-file", tlsCAPath},
		{"tls-auth-clients", auth},
	}
	if c.tlsOnly {
		out = append(out, [2]string{"tls-replication", "yes"})
	}
	if len(c.tls.ClientCert) > 0 {
		out = append(out, [2]string{"tls-client-cert-file", tlsClientCertPath}, [2]string{"tls-client-key-file", tlsClientKeyPath})
	}
	return out
}

// tlsArgs are the server arguments of cfg's TLS option on port.
func (c serverConfig) tlsArgs(port int) []string {
	var out []string
	for _, kv := range c.tlsSettings(port) {
		out = append(out, "--"+kv[0], kv[1])
	}
	return out
}

// tlsCLIArgs are the CLI's TLS flags for a TLS-only server.
func (c serverConfig) tlsCLIArgs() []string {
	if !c.tlsOnly {
		return nil
	}
	cert, key := tlsCertPath, tlsKeyPath
	if len(c.tls.ClientCert) > 0 {
		cert, key = tlsClientCertPath, tlsClientKeyPath
	}
	return []string{"--tls", "--cacert", tlsCAPath, "--cert", cert, "--key", key}
}

// clientTLS is the configuration of the helpers' own TLS connections to
// a TLS-only server: nil otherwise. The server name checked is the
// address's, 127.0.0.1, which the server certificate must carry.
func (c serverConfig) clientTLS() (*tls.Config, error) {
	if !c.tlsOnly {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.tls.CA) {
		return nil, errors.New("containers: TLSFiles.CA holds no PEM certificate")
	}
	certPEM, keyPEM := c.tls.Cert, c.tls.Key
	if len(c.tls.ClientCert) > 0 {
		certPEM, keyPEM = c.tls.ClientCert, c.tls.ClientKey
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("containers: TLS client certificate: %w", err)
	}
	return &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		ServerName:   "127.0.0.1",
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// TLSAddr is "127.0.0.1:port" of the TLS port ([WithTLS], [WithTLSOnly]),
// or "" without TLS.
func (s *Server) TLSAddr() string {
	if s.tlsPort == 0 {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(s.tlsPort)
}
