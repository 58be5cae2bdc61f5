package redisconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

func TestTLSFailure(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"UnknownAuthority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{"WrongName", fmt.Errorf("dial: %w", x509.HostnameError{Host: "db.internal"}), true},
		{"Expired", x509.CertificateInvalidError{Reason: x509.Expired}, true},
		{"NotTLSOnThePort", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{"PeerRefusedHandshake", &net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, true},
		{"Refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{"EOF", io.EOF, false},
		{"Plain", errors.New("tls: something mentioned in plain text"), false},
		{"Nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := TLSFailure(tt.err); got != tt.want {
				t.Errorf("TLSFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	for reply, want := range map[string]bool{
		"WRONGPASS invalid username-password pair":      true,
		"NOAUTH Authentication required.":               true,
		"NOPERM User r has no permissions to run 'del'": true,
		"WRONGTYPE Operation against a key":             false,
		"LOADING Redis is loading":                      false,
		"NOPERMX":                                       false,
	} {
		if got := Refusal(reply); got != want {
			t.Errorf("Refusal(%q) = %v, want %v", reply, got, want)
		}
	}
}
