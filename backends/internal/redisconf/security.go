package redisconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// TLSFailure reports whether err, from dialling or using a connection, is
// a failed TLS check rather than a server that is down: the server's
// certificate did not verify (unknown authority, a name it was not issued
// for, expired or not yet valid), the peer refused the handshake with a
// TLS alert (our client certificate missing or rejected, no common
// version), or the peer does not speak TLS at all on that port. The
// backends report these as backend.ErrSecurity, never ErrUnavailable:
// retrying does not cure them, and a chain must not fall back on them.
//
// It works through any wrapping that keeps the chain (%w), which both
// client libraries do for dial errors.
func TLSFailure(err error) bool {
	if err == nil {
		return false
	}
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
		aerr tls.AlertError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr),
		errors.As(err, &cerr), errors.As(err, &rerr), errors.As(err, &aerr):
		return true
	}
	// A TLS alert from the peer (over TCP) is a *net.OpError whose Op is
	// "remote error" and whose Err is crypto/tls' unexported alert type;
	// its text is "tls: ...".
	var oerr *net.OpError
	if errors.As(err, &oerr) && oerr.Op == "remote error" && oerr.Err != nil && strings.HasPrefix(oerr.Err.Error(), "tls: ") {
		return true
	}
	return false
}

// refusalReplies are the error-reply codes of a server that refuses our
// credentials or rights: a security failure, like a certificate that does
// not verify (backend.ErrSecurity).
var refusalReplies = []string{
	"WRONGPASS", // wrong password, unknown or disabled user
	"NOAUTH",    // the server wants a password we did not give
	"NOPERM",    // the ACL user may not run this command or touch this key
}

// Refusal reports whether an error reply ("NOPERM this user has no
// permissions ...") is the server refusing our credentials or rights.
func Refusal(reply string) bool {
	code, _, _ := strings.Cut(reply, " ")
	for _, r := range refusalReplies {
		if code == r {
			return true
		}
	}
	return false
}
