package bolt

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// sampleFile writes a bolt file with a few hundred alerts in two prefixes
// (so the tree has branch pages, leaf pages and buckets) and returns its
// path and bytes.
func sampleFile(t *testing.T) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.db")
	for _, prefix := range []string{"apt_detection:", "other:"} {
		d, err := Open(ctx, path, backend.Config{Prefix: prefix}, nil)
		if err != nil {
			t.Fatal(err)
		}
		batch := make([][]byte, 300)
		for i := range batch {
			batch[i] = []byte(`{"entity":"host` + strings.Repeat("x", i%50) + `","timestamp":"2025-01-01T00:00:00"}`)
		}
		if err := d.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(path); err != nil {
		t.Fatalf("a sound file fails verification: %v", err)
	}
	return path, b
}

// metaOf returns the meta bbolt would use (the valid one with the higher
// txid) and the offset of its page.
func metaOf(t *testing.T, b []byte) (meta, int) {
	t.Helper()
	m0, ok0 := parseMeta(b)
	ps := int(m0.pageSize)
	if !ok0 {
		t.Fatal("sample meta 0 invalid")
	}
	m1, ok1 := parseMeta(b[ps:])
	if ok1 && m1.txid > m0.txid {
		return m1, ps
	}
	return m0, 0
}

// setMeta rewrites a meta field (byte offset in the meta) of both meta
// pages and fixes their checksums: a corruption only a structural check
// can see.
func setMeta(b []byte, field int, v uint64) {
	ps := int(ne.Uint32(b[pageHeaderSize+8:]))
	for _, at := range []int{0, ps} {
		m := b[at+pageHeaderSize : at+pageHeaderSize+metaSize]
		ne.PutUint64(m[field:], v)
		h := fnv.New64a()
		_, _ = h.Write(m[:metaChecksumAt])
		ne.PutUint64(m[metaChecksumAt:], h.Sum64())
	}
}

// TestCorruptFileIsAnError: every kind of damage gives an error wrapping
// ErrInvalidConfig that names the file, never a panic (which bbolt would
// raise in a goroutine of its own, killing the process), and the file is
// left exactly as it was.
func TestCorruptFileIsAnError(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, b []byte) []byte
	}{
		{"truncated-to-100-bytes", func(_ *testing.T, b []byte) []byte { return b[:100] }},
		{"truncated-below-high-water-mark", func(_ *testing.T, b []byte) []byte { return b[:len(b)/2] }},
		{"zeros", func(_ *testing.T, b []byte) []byte { return make([]byte, len(b)) }},
		{"random-bytes-in-both-metas", func(_ *testing.T, b []byte) []byte {
			ps := int(ne.Uint32(b[pageHeaderSize+8:]))
			for _, at := range []int{0, ps} {
				for i := at + pageHeaderSize; i < at+pageHeaderSize+metaSize; i++ {
					b[i] = byte(rnd.Uint32())
				}
			}
			return b
		}},
		{"random-file", func(_ *testing.T, b []byte) []byte {
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			return b
		}},
		{"text-file", func(_ *testing.T, b []byte) []byte {
			return bytes.Repeat([]byte("this is not a database\n"), 1000)
		}},
		{"freelist-page-id-huge", func(_ *testing.T, b []byte) []byte { setMeta(b, 32, 1<<40); return b }},
		{"freelist-page-not-a-freelist", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			setMeta(b, 32, m.root) // a leaf or branch page taken for the free list
			return b
		}},
		{"root-page-beyond-file", func(_ *testing.T, b []byte) []byte { setMeta(b, 16, 1<<30); return b }},
		{"high-water-mark-beyond-file", func(_ *testing.T, b []byte) []byte { setMeta(b, 40, 1<<30); return b }},
		{"root-page-type-zeroed", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			ne.PutUint16(b[int(m.root*m.pageSize)+8:], 0)
			return b
		}},
		{"root-page-element-count-huge", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			ne.PutUint16(b[int(m.root*m.pageSize)+10:], 0xFFFF)
			return b
		}},
		{"every-tree-page-random", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			for p := uint64(2); p < m.hwm; p++ {
				at := int(p * m.pageSize)
				for i := at + pageHeaderSize; i < at+int(m.pageSize); i++ {
					b[i] = byte(rnd.Uint32())
				}
			}
			return b
		}},
		{"branch-child-out-of-bounds", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			for p := uint64(2); p < m.hwm; p++ {
				at := int(p * m.pageSize)
				if ne.Uint16(b[at+8:]) == branchPageFlag && ne.Uint64(b[at:]) == p {
					ne.PutUint64(b[at+pageHeaderSize+8:], 1<<40) // first element's child
					return b
				}
			}
			t.Fatal("the sample has no branch page")
			return nil
		}},
		{"keys-out-of-order", func(t *testing.T, b []byte) []byte {
			m, _ := metaOf(t, b)
			for p := uint64(2); p < m.hwm; p++ {
				at := int(p * m.pageSize)
				if ne.Uint16(b[at+8:]) == leafPageFlag && ne.Uint64(b[at:]) == p && ne.Uint16(b[at+10:]) > 2 {
					// Swap the first two elements' headers: same bytes,
					// keys out of order.
					e0, e1 := at+pageHeaderSize, at+pageHeaderSize+elemSize
					var h0, h1 [elemSize]byte
					copy(h0[:], b[e0:e1])
					copy(h1[:], b[e1:e1+elemSize])
					// pos is relative to the element: move it by one element.
					ne.PutUint32(h0[4:], ne.Uint32(h0[4:])-elemSize)
					ne.PutUint32(h1[4:], ne.Uint32(h1[4:])+elemSize)
					copy(b[e0:], h1[:])
					copy(b[e1:], h0[:])
					return b
				}
			}
			t.Fatal("the sample has no leaf page with three elements")
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, sound := sampleFile(t)
			bad := c.corrupt(t, append([]byte(nil), sound...))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := Open(context.Background(), path, backend.Config{}, nil)
			if err == nil {
				_ = d.Close()
				t.Fatal("Open of a damaged file succeeded")
			}
			if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v, want ErrInvalidConfig naming %s", err, path)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, bad) {
				t.Fatalf("the damaged file was changed by the failed open (%v)", rerr)
			}
		})
	}
}

// TestVerifyAcceptsSoundFiles: files bbolt wrote (empty, fresh, grown,
// after trims and a Drop) pass, so that the check never refuses a good
// store.
func TestVerifyAcceptsSoundFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.db")
	d, err := Open(ctx, path, backend.Config{MaxAlerts: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(path); err != nil {
		t.Fatalf("fresh file: %v", err)
	}
	for i := range 40 {
		batch := make([][]byte, 20)
		for j := range batch {
			batch[j] = bytes.Repeat([]byte{'a' + byte(i%26)}, 100+i*j)
		}
		if err := d.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.(backend.Dropper).Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(path); err != nil {
		t.Fatalf("after appends, trims and a drop: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(empty); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}
