// Package wire is the HTTP protocol between `alertstore serve` (package
// server) and the client backend (backends/remote): the JSON error body,
// the error codes that carry the backend's sentinel errors across the
// wire both ways, and the driver protocol's messages. It holds no I/O:
// both ends import it, so that neither has to import the other.
package wire

import (
	"errors"
	"fmt"

	"github.com/apt-detection/alertstore/backend"
)

// ErrorBody is every error response: {"error":{"code":...,"message":...}}.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo names the problem: a stable snake_case code and a sentence.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes. Those that carry a backend sentinel map to it in both
// directions (CodeOf and Sentinel); the others are the server's own.
const (
	CodeInvalidAlert    = "invalid_alert"
	CodeTooLarge        = "too_large"
	CodeInvalidConfig   = "invalid_config"
	CodeInvalidQuery    = "invalid_query"
	CodeNotFound        = "not_found"
	CodeUnavailable     = "unavailable"
	CodeSecurity        = "backend_security"
	CodeUnsupported     = "unsupported"
	CodeLagged          = "lagged"
	CodeClosed          = "closed"
	CodeInternal        = "internal"
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeBadRequest      = "bad_request"
	CodeBodyTooLarge    = "body_too_large"
	CodeMethod          = "method_not_allowed"
	CodeMediaType       = "unsupported_media_type"
	CodeResumeGone      = "resume_point_gone"
	CodeNamespaceDenied = "namespace_denied"
)

// CodeOf returns the status and code an error from the backend is
// answered with. The order matters: a too-large alert is an invalid alert
// too, and is answered 413.
func CodeOf(err error) (int, string) {
	switch {
	case errors.Is(err, backend.ErrTooLarge):
		return 413, CodeTooLarge
	case errors.Is(err, backend.ErrInvalidAlert):
		return 400, CodeInvalidAlert
	case errors.Is(err, backend.ErrInvalidConfig):
		return 400, CodeInvalidConfig
	case errors.Is(err, backend.ErrInvalidQuery):
		return 400, CodeInvalidQuery
	case errors.Is(err, backend.ErrNotFound):
		return 404, CodeNotFound
	case errors.Is(err, backend.ErrUnsupported):
		return 501, CodeUnsupported
	case errors.Is(err, backend.ErrSecurity):
		// The server's storage refused it, or could not be trusted: not
		// the caller's credentials (those are 401/403).
		return 502, CodeSecurity
	case errors.Is(err, backend.ErrLagged):
		return 503, CodeLagged
	case errors.Is(err, backend.ErrClosed):
		return 503, CodeClosed
	case errors.Is(err, backend.ErrUnavailable):
		return 503, CodeUnavailable
	}
	return 500, CodeInternal
}

// Sentinel returns the backend error a client reports for an error
// response: the sentinel its code names, else ErrUnavailable for a 5xx
// and ErrInvalidConfig for a 4xx the client could not have avoided
// (a wrong token is ErrSecurity). The server's closed store is the
// client's unavailable server, not the client's own ErrClosed.
func Sentinel(status int, code string) error {
	switch code {
	case CodeTooLarge:
		return backend.ErrTooLarge
	case CodeInvalidAlert:
		return backend.ErrInvalidAlert
	case CodeInvalidConfig, CodeNamespaceDenied:
		return backend.ErrInvalidConfig
	case CodeInvalidQuery:
		return backend.ErrInvalidQuery
	case CodeNotFound:
		return backend.ErrNotFound
	case CodeUnsupported:
		return backend.ErrUnsupported
	case CodeSecurity, CodeUnauthorized, CodeForbidden:
		return backend.ErrSecurity
	case CodeLagged:
		return backend.ErrLagged
	}
	if status >= 500 || status == 0 {
		return backend.ErrUnavailable
	}
	return backend.ErrInvalidConfig
}

// Err is the client-side error of an error response: it wraps the
// sentinel of its code and says what the server said.
func Err(status int, info ErrorInfo) error {
	return fmt.Errorf("%w: server answered %d %s: %s", Sentinel(status, info.Code), status, info.Code, info.Message)
}

// The driver protocol: the Driver interface over HTTP, under
// /v1/driver/. Every request names its namespace with the DSN's shared
// parameters as query parameters (NamespaceParams); the server opens its
// own DSN with them.

// NamespaceParams are the query parameters that choose a namespace: the
// shared DSN parameters a client may send (registry.ConfigParams).
var NamespaceParams = []string{"prefix", "max_alerts", "max_alert_bytes", "timeout", "client_name"}

// Capabilities is backend.Capabilities on the wire.
type Capabilities struct {
	Watch      bool `json:"watch"`
	Shared     bool `json:"shared"`
	Persistent bool `json:"persistent"`
	Durable    bool `json:"durable"`
	Drop       bool `json:"drop"`
	Drain      bool `json:"drain"`
	Namespace  bool `json:"namespace"`
}

// CapsOf converts.
func CapsOf(c backend.Capabilities) Capabilities {
	return Capabilities{c.Watch, c.Shared, c.Persistent, c.Durable, c.Drop, c.Drain, c.Namespace}
}

// Backend converts back.
func (c Capabilities) Backend() backend.Capabilities {
	return backend.Capabilities{Watch: c.Watch, Shared: c.Shared, Persistent: c.Persistent, Durable: c.Durable, Drop: c.Drop, Drain: c.Drain, Namespace: c.Namespace}
}

// Info answers GET /v1/driver/info: what the client's driver declares and
// the namespace it reaches.
type Info struct {
	// Backend is the served store's scheme.
	Backend string `json:"backend"`
	// Capabilities are what the client declares: the served driver's,
	// less what the server does not expose (drain; drop unless the
	// server allows it).
	Capabilities Capabilities `json:"capabilities"`
	// Prefix, MaxAlerts, MaxAlertBytes: the namespace the server opened.
	Prefix        string `json:"prefix"`
	MaxAlerts     int    `json:"max_alerts"`
	MaxAlertBytes int    `json:"max_alert_bytes"`
	// Namespaces are where the served driver really writes
	// (backend.NamespacesOf): one per tier of a chain.
	Namespaces []backend.Namespace `json:"namespaces"`
}

// Entries is the body of an append and the answer of a scan. Data is
// base64 in JSON ([]byte), since an entry may be any bytes.
type Entries struct {
	Entries []Entry `json:"entries"`
}

// Entry is backend.Entry on the wire.
type Entry struct {
	Pos      int64  `json:"pos,omitempty"`
	Data     []byte `json:"data"`
	TooLarge int64  `json:"too_large,omitempty"`
}

// Count answers GET /v1/count and /v1/driver/count.
type Count struct {
	Count int64 `json:"count"`
}

// SetCap is the body of POST /v1/driver/cap.
type SetCap struct {
	Cap int `json:"cap"`
}

// NamespaceInfo is backend.NamespaceInfo on the wire.
type NamespaceInfo struct {
	Cap      int                   `json:"cap"`
	Len      int64                 `json:"len"`
	Appended int64                 `json:"appended"`
	Audit    []backend.AuditRecord `json:"audit"`
}

// SSE event names of the driver's watch stream (/v1/driver/watch): ready
// once the server's subscription is in place (so that the client's Watch
// returns only then), entry for each entry (data: an Entry), lagged, and
// error (data: an ErrorBody) before the server ends the stream.
const (
	EventReady  = "ready"
	EventEntry  = "entry"
	EventLagged = "lagged"
	EventError  = "error"
)
