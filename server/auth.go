package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// Role is what a token may do.
type Role uint8

// Roles. A route needs one of them; a token holds one or both (a token
// listed on a reader line and on a writer line).
const (
	// RoleNone: the route needs no token (health, readiness, the OpenAPI
	// document, the dashboard's static files).
	RoleNone Role = 0
	// RoleReader: list, count, summary, status, stream, metrics, and the
	// driver protocol's reads.
	RoleReader Role = 1
	// RoleWriter: store alerts, and clear (with Options.Admin also drop
	// and set the cap) through the driver protocol. A writer token does not
	// read: a detector's stolen token shows nothing.
	RoleWriter Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleReader:
		return "reader"
	case RoleWriter:
		return "writer"
	case RoleReader | RoleWriter:
		return "reader+writer"
	}
	return "unknown"
}

// Tokens are the bearer tokens a server accepts, each with its roles.
// Only their SHA-256 digests are kept, compared in constant time.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	sum  [sha256.Size]byte
	role Role
}

// minTokenLen refuses tokens a person could guess.
const minTokenLen = 16

// Add gives token the role (added to the roles it has).
func (t *Tokens) Add(role Role, token string) error {
	if role != RoleReader && role != RoleWriter {
		return fmt.Errorf("%w: token role must be reader or writer", backend.ErrInvalidConfig)
	}
	if len(token) < minTokenLen {
		return fmt.Errorf("%w: a %s token is shorter than %d characters: make one with `openssl rand -hex 32`", backend.ErrInvalidConfig, role, minTokenLen)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return fmt.Errorf("%w: a %s token holds white space", backend.ErrInvalidConfig, role)
	}
	sum := sha256.Sum256([]byte(token))
	for i := range t.entries {
		if t.entries[i].sum == sum {
			t.entries[i].role |= role
			return nil
		}
	}
	t.entries = append(t.entries, tokenEntry{sum: sum, role: role})
	return nil
}

// Empty reports whether no token is configured (every route open).
func (t *Tokens) Empty() bool { return t == nil || len(t.entries) == 0 }

// Has reports whether some token holds role.
func (t *Tokens) Has(role Role) bool {
	if t == nil {
		return false
	}
	for _, e := range t.entries {
		if e.role&role != 0 {
			return true
		}
	}
	return false
}

// roleOf returns the roles of token, comparing its digest with every
// configured one in constant time (all are compared, whatever matches).
func (t *Tokens) roleOf(token string) Role {
	sum := sha256.Sum256([]byte(token))
	var role Role
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			role |= e.role
		}
	}
	return role
}

// ParseTokens reads a token file: one "reader <token>" or "writer <token>"
// per line; blank lines and lines starting with # are ignored. Errors name
// the line, never the token.
func ParseTokens(data []byte) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: token file line %d: want \"reader <token>\" or \"writer <token>\"", backend.ErrInvalidConfig, n)
		}
		var role Role
		switch f[0] {
		case "reader":
			role = RoleReader
		case "writer":
			role = RoleWriter
		default:
			return nil, fmt.Errorf("%w: token file line %d: unknown role (want reader or writer)", backend.ErrInvalidConfig, n)
		}
		if err := t.Add(role, f[1]); err != nil {
			return nil, fmt.Errorf("token file line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading the token file: %w", backend.ErrInvalidConfig, err)
	}
	if t.Empty() {
		return nil, fmt.Errorf("%w: the token file holds no token", backend.ErrInvalidConfig)
	}
	return t, nil
}

// LoadTokens reads a token file (ParseTokens), refusing one that other
// users can read.
func LoadTokens(path string) (*Tokens, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: token file: %w", backend.ErrInvalidConfig, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: token file %s is readable by other users (mode %04o): chmod 600 it", backend.ErrSecurity, path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: token file: %w", backend.ErrInvalidConfig, err)
	}
	return ParseTokens(data)
}

// authorize wraps h with the role check: with no tokens configured every
// route is open; else the bearer token must hold role.
func (s *Server) authorize(role Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, _ := w.(*recorder)
		if role == RoleNone || s.opts.Tokens.Empty() {
			h.ServeHTTP(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="alertstore"`)
			writeError(w, http.StatusUnauthorized, wire.CodeUnauthorized, "this route needs a "+role.String()+" token: Authorization: Bearer <token>")
			return
		}
		got := s.opts.Tokens.roleOf(token)
		if rec != nil {
			rec.role = got
		}
		switch {
		case got == 0:
			w.Header().Set("WWW-Authenticate", `Bearer realm="alertstore", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, wire.CodeUnauthorized, "the token is not known to this server")
		case got&role == 0:
			writeError(w, http.StatusForbidden, wire.CodeForbidden, "this route needs a "+role.String()+" token; the token given is a "+got.String()+" token")
		default:
			h.ServeHTTP(w, r)
		}
	})
}
