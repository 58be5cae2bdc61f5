package backend

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// FieldSignature is the member a signing Store adds to every alert it
// writes: "v1:<key id>:<base64url HMAC-SHA256>". It is one more top-level
// key, which readers that do not verify (the old Python dashboard's
// json.loads, jq) ignore.
const FieldSignature = "_sig"

// Verification is what a reader found out about an alert's signature.
type Verification int

const (
	// NotChecked: the store that read the alert has no keys.
	NotChecked Verification = iota
	// Verified: the signature is a valid HMAC, by a key of the keyring,
	// over the alert's canonical bytes.
	Verified
	// Unsigned: the alert has no signature (written by a writer without
	// keys, or by another tool).
	Unsigned
	// BadSignature: the alert has a signature that does not verify: the
	// alert was changed after signing, the signature belongs to another
	// alert, its key is not in the keyring, or it is malformed.
	BadSignature
)

func (v Verification) String() string {
	switch v {
	case Verified:
		return "verified"
	case Unsigned:
		return "unsigned"
	case BadSignature:
		return "invalid"
	}
	return "not-checked"
}

// Verification is what the Store that read a found out about its
// signature (NotChecked unless a Store with keys read or wrote it).
func (a *Alert) Verification() Verification { return a.ver }

// SignedBy is the key id of a verified signature ("" otherwise).
func (a *Alert) SignedBy() string { return a.sigKey }

// Canonical returns the bytes a signature covers: the alert as one
// compact JSON object, top-level members in their stored order, without
// the FieldSignature member. Insignificant whitespace is not part of it
// (values are compacted, keys re-quoted), so an alert re-indented by
// another tool still verifies; any change of a key, a value or the order
// of members does not.
func Canonical(a *Alert) []byte { return bytes.Clone(canonical(a)) }

// canonical is Canonical without the copy: the alert's own bytes when it
// has no signature, else one copy of them without the signature member.
func canonical(a *Alert) []byte { return withoutMember(a.encoded(), FieldSignature) }

// Keyring holds the keys a Store signs and verifies with: the first key
// signs, every key verifies. Rotating is adding a new key in front, and
// removing the old one once no alert signed with it is kept any more.
type Keyring struct {
	keys []signKey
}

type signKey struct {
	id     string
	secret []byte
}

// Limits of a key file.
const (
	// MinKeyBytes is the shortest secret accepted: HMAC-SHA256's block
	// of security.
	MinKeyBytes = 32
	// maxKeyFileBytes bounds what LoadKeyring reads.
	maxKeyFileBytes = 64 << 10
)

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ErrBadKeyFile is wrapped by every keyring parsing error; it wraps
// ErrInvalidConfig. The errors name the line, never a secret.
var ErrBadKeyFile = fmt.Errorf("%w: signing key file", ErrInvalidConfig)

// ParseKeyring reads a key file: one key per line, "<key id> <secret>",
// the secret in base64 (standard alphabet, padding optional) of at least
// MinKeyBytes bytes; blank lines and lines starting with '#' are ignored.
// The first key signs; all verify. Key ids are 1 to 64 of A-Z a-z 0-9 . _ -
// and unique.
func ParseKeyring(data []byte) (*Keyring, error) {
	k := &Keyring{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxKeyFileBytes)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: line %d: want \"<key id> <base64 secret>\", got %d fields", ErrBadKeyFile, line, len(fields))
		}
		id := fields[0]
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("%w: line %d: key id must be 1 to 64 of A-Z a-z 0-9 . _ -", ErrBadKeyFile, line)
		}
		secret, err := decodeSecret(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d (key %s): the secret is not base64", ErrBadKeyFile, line, id)
		}
		if len(secret) < MinKeyBytes {
			return nil, fmt.Errorf("%w: line %d (key %s): the secret has %d bytes, want at least %d (e.g. openssl rand -base64 32)", ErrBadKeyFile, line, id, len(secret), MinKeyBytes)
		}
		for _, o := range k.keys {
			if o.id == id {
				return nil, fmt.Errorf("%w: line %d: key id %s given twice", ErrBadKeyFile, line, id)
			}
		}
		k.keys = append(k.keys, signKey{id: id, secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrBadKeyFile, line+1, err)
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: no key in it (want a line \"<key id> <base64 secret>\")", ErrBadKeyFile)
	}
	return k, nil
}

func decodeSecret(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// LoadKeyring reads and parses a key file (at most 64 KiB).
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w %q: %v", ErrBadKeyFile, path, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadKeyFile, path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%w %q: larger than %d bytes", ErrBadKeyFile, path, maxKeyFileBytes)
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	return k, nil
}

// SigningKey is the id of the key that signs.
func (k *Keyring) SigningKey() string { return k.keys[0].id }

// KeyIDs lists every key id, the signing one first.
func (k *Keyring) KeyIDs() []string {
	out := make([]string, len(k.keys))
	for i, key := range k.keys {
		out[i] = key.id
	}
	return out
}

// String names the keys, never their secrets.
func (k *Keyring) String() string {
	return "keyring(" + strings.Join(k.KeyIDs(), ",") + ")"
}

const sigVersion = "v1"

func mac(key signKey, canonical []byte) []byte {
	h := hmac.New(sha256.New, key.secret)
	// Domain separation: the version and the key id are covered, so a
	// signature cannot be re-labelled with another key id.
	h.Write([]byte("alertstore-sig/" + sigVersion + "\x00" + key.id + "\x00"))
	h.Write(canonical)
	return h.Sum(nil)
}

// Sign sets a's FieldSignature to a signature of Canonical(a) by the
// signing key, replacing any signature it had.
func (k *Keyring) Sign(a *Alert) {
	key := k.keys[0]
	sig := sigVersion + ":" + key.id + ":" + base64.RawURLEncoding.EncodeToString(mac(key, canonical(a)))
	a.setMember(FieldSignature, mustMarshal(sig))
	a.ver, a.sigKey = Verified, key.id
}

// Verify checks a's signature, and records the outcome on a (see
// Alert.Verification).
func (k *Keyring) Verify(a *Alert) Verification {
	a.ver, a.sigKey = k.verify(a)
	return a.ver
}

func (k *Keyring) verify(a *Alert) (Verification, string) {
	raw, ok := a.Get(FieldSignature)
	if !ok {
		return Unsigned, ""
	}
	s, err := unquote(raw)
	if err != nil {
		return BadSignature, ""
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] != sigVersion {
		return BadSignature, ""
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return BadSignature, ""
	}
	for _, key := range k.keys {
		if key.id == parts[1] {
			if hmac.Equal(got, mac(key, canonical(a))) {
				return Verified, key.id
			}
			return BadSignature, ""
		}
	}
	return BadSignature, "" // a key this reader does not hold
}

// verify marks a read alert with its verification state when the store
// has keys, counts the unsigned and invalid ones on page (if not nil), and
// reports whether the alert may be shown: always, unless only verified
// alerts were asked for.
func (s *Store) verify(a *Alert, page *Page, onlyVerified bool) bool {
	if s.cfg.Sign == nil {
		return true
	}
	v := s.cfg.Sign.Verify(a)
	if page != nil {
		switch v {
		case Unsigned:
			page.Unsigned++
		case BadSignature:
			page.Invalid++
		}
	}
	return !onlyVerified || v == Verified
}
