package backend_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/memory"
)

// secret returns a base64 secret of n bytes, all b.
func secret(b byte, n int) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), n)))
}

func ring(t *testing.T, lines ...string) *backend.Keyring {
	t.Helper()
	k, err := backend.ParseKeyring([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func parse(t *testing.T, s string) *backend.Alert {
	t.Helper()
	a, err := backend.ParseAlert([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func signed(t *testing.T, k *backend.Keyring, s string) string {
	t.Helper()
	a := parse(t, s)
	k.Sign(a)
	b, _ := a.MarshalJSON()
	return string(b)
}

func TestCanonical(t *testing.T) {
	for _, c := range []struct{ name, a, b string }{
		{"whitespace-ignored", `{"id":"1","entity":"h","n":[1,2]}`, "{ \"id\" : \"1\",\n \"entity\": \"h\", \"n\": [1, 2] }"},
		{"signature-left-out", `{"id":"1","entity":"h"}`, `{"id":"1","_sig":"v1:k:xyz","entity":"h"}`},
		{"key-escapes-normalised", `{"id":"1","entity":"h"}`, `{"id":"1","\u0065ntity":"h"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if x, y := backend.Canonical(parse(t, c.a)), backend.Canonical(parse(t, c.b)); string(x) != string(y) {
				t.Fatalf("canonical differ:\n%s\n%s", x, y)
			}
		})
	}
	for _, c := range []struct{ name, a, b string }{
		{"order-matters", `{"id":"1","entity":"h"}`, `{"entity":"h","id":"1"}`},
		{"value-escapes-kept", `{"id":"1","entity":"h"}`, `{"id":"1","entity":"\u0068"}`},
		{"number-digits-kept", `{"id":"1","n":1.0}`, `{"id":"1","n":1}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if x, y := backend.Canonical(parse(t, c.a)), backend.Canonical(parse(t, c.b)); string(x) == string(y) {
				t.Fatalf("canonical equal, want different: %s", x)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	k1 := ring(t, "k1 "+secret('a', 32))
	other := ring(t, "k1 "+secret('b', 32)) // same id, another secret
	const alert = `{"id":"0190","timestamp":"2025-01-01T00:00:00","entity":"host1","severity":"High","source":{"type":"kafka"}}`
	good := signed(t, k1, alert)
	sig := string(must(parse(t, good).Get(backend.FieldSignature)))
	sigValue := strings.Trim(sig, `"`)
	for _, c := range []struct {
		name string
		in   string
		want backend.Verification
	}{
		{"signed", good, backend.Verified},
		{"unsigned", alert, backend.Unsigned},
		{"reindented", strings.ReplaceAll(good, ",", ", "), backend.Verified},
		{"signature-member-moved-to-front", `{"_sig":` + sig + `,` + alert[1:], backend.Verified},
		{"edited-field", strings.Replace(good, "host1", "host2", 1), backend.BadSignature},
		{"edited-severity-case", strings.Replace(good, `"High"`, `"high"`, 1), backend.BadSignature},
		{"field-added", strings.Replace(good, `"entity"`, `"extra":1,"entity"`, 1), backend.BadSignature},
		{"field-removed", strings.Replace(good, `"entity":"host1",`, ``, 1), backend.BadSignature},
		{"members-reordered", `{"entity":"host1","id":"0190","timestamp":"2025-01-01T00:00:00","severity":"High","source":{"type":"kafka"},"_sig":` + sig + `}`, backend.BadSignature},
		{"signature-moved-into-source", strings.Replace(strings.Replace(good, `,"_sig":`+sig, ``, 1), `{"type":"kafka"}`, `{"type":"kafka","_sig":`+sig+`}`, 1), backend.Unsigned},
		{"signature-replayed-onto-another-alert", `{"id":"0191","timestamp":"2025-01-01T00:00:00","entity":"host1","severity":"High","source":{"type":"kafka"},"_sig":` + sig + `}`, backend.BadSignature},
		{"key-id-relabelled", strings.Replace(good, "v1:k1:", "v1:k2:", 1), backend.BadSignature},
		{"unknown-version", strings.Replace(good, `"v1:`, `"v2:`, 1), backend.BadSignature},
		{"not-a-string", strings.Replace(good, sig, `123`, 1), backend.BadSignature},
		{"mac-truncated", strings.Replace(good, sigValue, sigValue[:len(sigValue)-4], 1), backend.BadSignature},
		{"garbage", strings.Replace(good, sig, `"v1:k1:!!!"`, 1), backend.BadSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := parse(t, c.in)
			if got := k1.Verify(a); got != c.want || a.Verification() != c.want {
				t.Fatalf("Verify = %v (alert says %v), want %v\n%s", got, a.Verification(), c.want, c.in)
			}
			if c.want == backend.Verified && a.SignedBy() != "k1" {
				t.Fatalf("SignedBy = %q, want k1", a.SignedBy())
			}
		})
	}
	t.Run("same-key-id-other-secret", func(t *testing.T) {
		if got := other.Verify(parse(t, good)); got != backend.BadSignature {
			t.Fatalf("a keyring with another secret under the same id verified: %v", got)
		}
	})
}

func must(raw []byte, ok bool) []byte {
	if !ok {
		panic("missing")
	}
	return raw
}

func TestKeyRotation(t *testing.T) {
	old, next := "k2024 "+secret('a', 32), "k2025 "+secret('b', 40)
	before := ring(t, old)                // signs with k2024
	during := ring(t, next, "# old", old) // signs with k2025, verifies both
	after := ring(t, next)                // k2024 retired
	const alert = `{"id":"1","timestamp":"2025-01-01T00:00:00","entity":"h"}`
	byOld, byNext := signed(t, before, alert), signed(t, during, alert)
	for _, c := range []struct {
		name string
		k    *backend.Keyring
		in   string
		want backend.Verification
		by   string
	}{
		{"old-key-verifies-old", before, byOld, backend.Verified, "k2024"},
		{"old-ring-cannot-verify-new", before, byNext, backend.BadSignature, ""},
		{"rotating-ring-verifies-old", during, byOld, backend.Verified, "k2024"},
		{"rotating-ring-verifies-new", during, byNext, backend.Verified, "k2025"},
		{"retired-key-no-longer-verifies", after, byOld, backend.BadSignature, ""},
		{"new-ring-verifies-new", after, byNext, backend.Verified, "k2025"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := parse(t, c.in)
			if got := c.k.Verify(a); got != c.want || a.SignedBy() != c.by {
				t.Fatalf("Verify = %v by %q, want %v by %q", got, a.SignedBy(), c.want, c.by)
			}
		})
	}
	if during.SigningKey() != "k2025" || strings.Join(during.KeyIDs(), ",") != "k2025,k2024" {
		t.Fatalf("signing key %s, ids %v", during.SigningKey(), during.KeyIDs())
	}
}

func TestParseKeyringRejects(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("tooshort-but-secret"))
	for _, c := range []struct{ name, file, want string }{
		{"empty", "", "no key"},
		{"comments-only", "# nothing\n\n", "no key"},
		{"one-field", "k1", "got 1 fields"},
		{"three-fields", "k1 " + secret('a', 32) + " extra", "fields"},
		{"bad-id", "k/1 " + secret('a', 32), "key id"},
		{"not-base64", "k1 !!!!not-base64-secret-value!!!!", "not base64"},
		{"short-secret", "k1 " + short, "at least 32"},
		{"duplicate-id", "k1 " + secret('a', 32) + "\nk1 " + secret('b', 32), "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := backend.ParseKeyring([]byte(c.file))
			if err == nil || !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalidConfig with %q", err, c.want)
			}
			for _, f := range strings.Fields(c.file) {
				if len(f) >= 12 && strings.Contains(err.Error(), f) {
					t.Fatalf("error leaks the secret: %v", err)
				}
			}
		})
	}
	k := ring(t, "k1 "+secret('a', 32))
	if s := k.String(); strings.Contains(s, secret('a', 32)) || !strings.Contains(s, "k1") {
		t.Fatalf("String() = %q", s)
	}
}

// TestStoreSignsAndVerifies runs the Store's signing through the memory
// backend: what a signing writer stores verifies; entries another writer
// put there are marked and counted; --verified shows only verified ones.
func TestStoreSignsAndVerifies(t *testing.T) {
	ctx := context.Background()
	k := ring(t, "k1 "+secret('a', 32))
	drv := memory.Open("", backend.Config{}, nil)
	s := backend.NewStore(drv, "mem", backend.Config{Sign: k})
	defer s.Close()

	a := backend.NewAlert()
	_ = a.SetEntity("signed-by-us")
	if err := s.Store(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get(backend.FieldSignature); !ok || a.Verification() != backend.Verified {
		t.Fatalf("the stored alert carries no signature: %v", a.Keys())
	}
	// Entries that reach the list without our Store: another writer
	// without keys, a tampered copy, a replayed signature.
	good, _ := a.MarshalJSON()
	tampered := strings.Replace(string(good), "signed-by-us", "attacker", 1)
	replayed := strings.Replace(string(good), a.ID(), "0190ffff-0000-7000-8000-000000000000", 1)
	foreign := `{"id":"f1","timestamp":"2025-01-01T00:00:00","entity":"unsigned"}`
	if err := drv.Append(ctx, [][]byte{[]byte(foreign), []byte(strings.Replace(tampered, a.ID(), "t1", 1)), []byte(replayed)}); err != nil {
		t.Fatal(err)
	}
	// The tampered copy got a new id, or dedup would hide it; same-id
	// conflicts are another rule.
	page, err := s.List(ctx, backend.Query{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]backend.Verification{}
	for _, a := range page.Alerts {
		states[a.ID()] = a.Verification()
	}
	if len(page.Alerts) != 4 || page.Unsigned != 1 || page.Invalid != 2 {
		t.Fatalf("listed %d, unsigned %d, invalid %d; want 4, 1, 2 (%v)", len(page.Alerts), page.Unsigned, page.Invalid, states)
	}
	if states[a.ID()] != backend.Verified || states["f1"] != backend.Unsigned || states["t1"] != backend.BadSignature {
		t.Fatalf("states %v", states)
	}
	page, err = s.List(ctx, backend.Query{Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 1 || page.Alerts[0].ID() != a.ID() {
		t.Fatalf("verified-only listed %d alerts", len(page.Alerts))
	}

	// A reader without keys sees every alert, unchecked, and cannot ask
	// for verified ones.
	plain := backend.NewStore(drv, "mem", backend.Config{})
	page, err = plain.List(ctx, backend.Query{})
	if err != nil || len(page.Alerts) != 4 || page.Alerts[0].Verification() != backend.NotChecked {
		t.Fatalf("reader without keys: %v, %d alerts", err, len(page.Alerts))
	}
	if _, err := plain.List(ctx, backend.Query{Verified: true}); !errors.Is(err, backend.ErrInvalidQuery) {
		t.Fatalf("Verified without keys: err = %v, want ErrInvalidQuery", err)
	}
}
