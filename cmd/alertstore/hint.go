package main

import (
	"errors"

	"github.com/apt-detection/alertstore/backend"
)

// diagnose maps an error to its exit code and a hint that fits it.
func diagnose(err error) (code int, hint string) {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return exitUsage, ""
	case errors.Is(err, errDegraded):
		return exitDegraded, "writes go to a lower tier and wait there; they move up when it answers (`alertstore replay`); see docs/guarantees.md"
	case errors.Is(err, errBacklogLeft):
		return exitBacklogLeft, "nothing is lost: the backlog stays in the lower tier; run `alertstore replay` again when the first tier answers, or with a longer --timeout"
	case errors.Is(err, backend.ErrInvalidConfig), errors.Is(err, backend.ErrInvalidQuery):
		return exitUsage, "check the DSN and flags; `alertstore help` and docs/dsn.md list the forms"
	case errors.Is(err, backend.ErrInvalidAlert):
		if ss := (*storedSome)(nil); errors.As(err, &ss) {
			return exitInvalid, ""
		}
		return exitInvalid, "nothing was stored; fix the input (an alert is a JSON object; severity is info|low|medium|high|critical)"
	case errors.Is(err, backend.ErrSecurity):
		// Before ErrUnavailable: a certificate that does not verify is
		// not an outage, and waiting for the server will not cure it.
		return exitSecurity, "the server's certificate did not verify, the server refused our certificate, or it refused the credentials or rights: check tls_ca, tls_server_name, tls_cert/tls_key and the ACL user (docs/security.md); do not work around it with tls_insecure_skip_verify"
	case errors.Is(err, backend.ErrUnavailable):
		return exitUnavailable, "is the server running and reachable? try `alertstore ping`, `redis-cli -h HOST -p PORT ping`; see docs/operations.md"
	case errors.Is(err, errChecksFailed):
		return exitFailed, ""
	}
	return exitFailed, ""
}
