package remote_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/internal/servetest"
	"github.com/apt-detection/alertstore/registry"
)

func TestDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "alertstore+http://{addr}?connect_timeout=2s",
		Rejects: []conformance.DSNReject{
			{Name: "UserInfo", DSN: "alertstore+http://" + conformance.DSNSecret + "@{addr}", Says: "user info"},
			{Name: "Path", DSN: "alertstore+http://{addr}/v1", Says: "path"},
			{Name: "NoPort", DSN: "alertstore+http://localhost", Says: "host:port"},
			{Name: "NoHost", DSN: "alertstore+http://", Says: "no host"},
			{Name: "TLSParamOverHTTP", DSN: "alertstore+http://{addr}?tls_ca={dir}/ca.pem", Says: "alertstore+https"},
			{Name: "ConnectTimeoutBare", DSN: "alertstore+http://{addr}?connect_timeout=5", Says: "connect_timeout"},
			{Name: "TokenFileMissing", DSN: "alertstore+http://{addr}?token_file={dir}/none", Says: "token_file"},
		},
	})
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTokens: the client sends the token of token_file or $ALERTSTORE_TOKEN;
// a writer token stores and does not read, a reader token reads and does
// not store, a wrong or missing one is ErrSecurity; no error shows a token.
func TestTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a real alertstore serve")
	}
	const reader, writer = "reader-token-abcdefghijklmnop", "writer-token-abcdefghijklmnop"
	dir := t.TempDir()
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "reader "+reader+"\nwriter "+writer+"\n", 0o600)
	p := servetest.Start(t, "mem://tokens", "--token-file", tokens)
	wf := writeFile(t, filepath.Join(dir, "w"), writer+"\n", 0o600)
	bad := writeFile(t, filepath.Join(dir, "bad"), "not-a-token-of-this-server\n", 0o600)
	ctx := context.Background()
	base := "alertstore+http://" + p.Addr

	w, err := registry.Open(ctx, base+"?token_file="+wf)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	a, _ := backend.ParseAlert([]byte(`{"entity":"h1","severity":"High"}`))
	if err := w.Store(ctx, a); err != nil {
		t.Fatalf("writer store: %v", err)
	}
	if _, err := w.Count(ctx); !errors.Is(err, backend.ErrSecurity) {
		t.Fatalf("writer count = %v, want ErrSecurity", err)
	}
	t.Setenv("ALERTSTORE_TOKEN", reader)
	r, err := registry.Open(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.Count(ctx); err != nil || n != 1 {
		t.Fatalf("reader count = %d, %v", n, err)
	}
	if err := r.Store(ctx, a.Clone()); !errors.Is(err, backend.ErrSecurity) {
		t.Fatalf("reader store = %v, want ErrSecurity", err)
	}
	for _, dsn := range []string{base + "?token_file=" + bad, base + "?token_env=ALERTSTORE_NO_SUCH_TOKEN"} {
		_, err := registry.Open(ctx, dsn)
		if !errors.Is(err, backend.ErrSecurity) {
			t.Fatalf("open with a wrong or no token = %v, want ErrSecurity", err)
		}
		for _, tok := range []string{reader, writer, "not-a-token-of-this-server"} {
			if strings.Contains(err.Error(), tok) {
				t.Fatalf("the error shows a token: %v", err)
			}
		}
	}
	if strings.Contains(p.Stderr(), reader) || strings.Contains(p.Stderr(), writer) {
		t.Fatal("the server's log shows a token")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alertstore test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"alerts.test"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert = writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	key = writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})), 0o600)
	return cert, key
}

// TestTLS: alertstore+https with tls_ca verifies the server; without the
// CA, or with a name the certificate does not hold, it is ErrSecurity.
func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a real alertstore serve")
	}
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	p := servetest.Start(t, "mem://tls", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(p.URL, "https://") {
		t.Fatalf("URL %s", p.URL)
	}
	ctx := context.Background()
	base := "alertstore+https://" + p.Addr
	s, err := registry.Open(ctx, base+"?tls_ca="+cert)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s2, err := registry.Open(ctx, base+"?tls_ca="+cert+"&tls_server_name=alerts.test"); err != nil {
		t.Fatalf("with a name the certificate holds: %v", err)
	} else {
		s2.Close()
	}
	for name, dsn := range map[string]string{
		"NoCA":      base,
		"WrongName": base + "?tls_ca=" + cert + "&tls_server_name=other.test",
	} {
		if _, err := registry.Open(ctx, dsn); !errors.Is(err, backend.ErrSecurity) {
			t.Errorf("%s: open = %v, want ErrSecurity", name, err)
		}
	}
	if _, err := registry.Open(ctx, "alertstore+http://"+p.Addr); err == nil {
		t.Error("plain HTTP to a TLS server opened")
	}
}
