// Package remote is the client backend: a store that lives in a running
// `alertstore serve` (package server), reached over HTTP, so that every
// command and Go program on any host shares that one server's store
// instead of opening the storage itself. It registers the schemes
// alertstore+http and alertstore+https.
//
// The driver speaks the server's driver protocol (/v1/driver/..., see
// internal/wire): each Driver method is one request, and the Store on
// this side validates, identifies, decodes and filters exactly as with a
// driver in process, which is why the client passes the whole
// conformance suite against a real server (remote_test.go).
//
// # DSN
//
//	alertstore+http://127.0.0.1:8080
//	alertstore+https://alerts.internal:8443?tls_ca=/etc/alertstore/ca.crt&token_file=/run/secrets/alertstore-reader
//
// Parameters, besides the shared ones (prefix, max_alerts, max_alert_bytes,
// timeout, client_name), which name the namespace on the server:
//
//	token_file       a file holding the bearer token (reader or writer); default $ALERTSTORE_TOKEN, else none
//	token_env        the variable holding the token instead of ALERTSTORE_TOKEN
//	tls_ca           PEM file of the CA that signed the server's certificate (https; default: the system's roots)
//	tls_server_name  the name to verify the server's certificate against (default: the DSN's host)
//	connect_timeout  bound of one TCP (and TLS) connection, default 5s
//
// The token never appears in a DSN (a secret there shows in ps), an error
// or a log. Leave prefix unset to use the server's own namespace; a server
// serves other prefixes only with --any-namespace. Leave max_alerts unset
// to use the server's cap.
//
// # Capabilities
//
// The client declares what the server's driver declares, less what the
// server does not expose: Shared always (that is the point; a server
// whose store is not shared, an unnamed mem://, refuses the protocol);
// Watch through the server's event stream; Persistent and Durable as the
// served backend (an alert is acknowledged once the server's driver
// acknowledged it); Drop and Namespace only when the server runs with
// --admin (their writes are admin routes; Clear is a writer's, as with
// the Redis writer role); never Drain (a chain tier is
// opened where the storage is, not through a server).
//
// # Errors
//
// The server's error codes carry the backend's sentinels (wire.CodeOf,
// wire.Sentinel): an unavailable storage behind the server is
// ErrUnavailable here as there; a server that cannot be reached, or that
// answers 5xx, is ErrUnavailable; a refused token (401, 403) and a server
// certificate that does not verify are ErrSecurity.
package remote
