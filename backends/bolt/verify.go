package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// errDamaged marks a file that fails verifyFile: acquire reports it as a
// configuration error naming the file.
var errDamaged = errors.New("damaged or not a bolt database")

// The bbolt file format (go.etcd.io/bbolt, version 2), as verifyFile
// reads it: every page starts with a 16-byte header (id, flags, count,
// overflow); pages 0 and 1 are meta pages; the B+tree of buckets hangs
// from the meta's root page. Integers are in the machine's byte order,
// as bbolt writes them.
const (
	pageHeaderSize  = 16
	elemSize        = 16 // a branch element (pos, ksize, pgid) and a leaf element (flags, pos, ksize, vsize)
	bucketHeader    = 16 // a bucket value: root pgid, sequence; an inline bucket's page follows
	metaSize        = 64
	metaChecksumAt  = 56 // the checksum covers the meta's bytes before it
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	branchPageFlag  = 0x01
	leafPageFlag    = 0x02
	metaPageFlag    = 0x04
	freelistFlag    = 0x10
	bucketLeafFlag  = 0x01
	noFreelist      = ^uint64(0)
	minPageSize     = 1024
	maxPageSize     = 1 << 24 // the largest bbolt looks for
	maxInlineNested = 64      // inline buckets inside inline buckets: none in a sound file
)

var ne = binary.NativeEndian

// meta is a parsed meta page.
type meta struct {
	pageSize       uint64
	root, freelist uint64
	hwm, txid      uint64 // hwm: the high-water mark, pages in use are below it
}

// parseMeta reads the meta at the start of a meta page's bytes, and
// reports whether it is valid (magic, version, checksum), as bbolt's own
// check does.
func parseMeta(page []byte) (meta, bool) {
	if len(page) < pageHeaderSize+metaSize {
		return meta{}, false
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return meta{}, false
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:metaChecksumAt])
	if h.Sum64() != ne.Uint64(m[metaChecksumAt:]) {
		return meta{}, false
	}
	return meta{
		pageSize: uint64(ne.Uint32(m[8:])),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, true
}

// verifyFile checks, before bbolt opens and maps it, that an existing
// file is a bolt database whose structure bbolt can walk: a valid meta
// page, and every page reachable from it (the bucket tree, inline buckets,
// a persisted free list) inside the file and below the high-water mark,
// of the right type, with every element inside its page, reached once.
// bbolt assumes all of that: on a damaged file it panics, or faults on
// memory beyond the mapping, in a goroutine of its own while it rebuilds
// the free list at open (go.etcd.io/bbolt issues 105, 335, 446), which no
// caller can recover. An empty file passes (bbolt initialises it).
//
// It reads every page of the tree once, as bbolt's own rebuild of the
// free list at open does (NoFreelistSync), so it costs about as much.
func verifyFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := uint64(fi.Size())
	if size == 0 {
		return nil
	}
	v := &verifier{r: f, size: size}
	return v.run()
}

type verifier struct {
	r    io.ReaderAt
	size uint64
	ps   uint64 // page size
	hwm  uint64
	seen map[uint64]bool // pages reached, overflow pages included
}

func (v *verifier) damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDamaged, fmt.Sprintf(format, args...))
}

func (v *verifier) readAt(off, n uint64) ([]byte, error) {
	if off > v.size || n > v.size-off {
		return nil, v.damaged("%d bytes at offset %d are beyond the end of the file (%d bytes)", n, off, v.size)
	}
	buf := make([]byte, n)
	if _, err := v.r.ReadAt(buf, int64(off)); err != nil {
		return nil, err
	}
	return buf, nil
}

func (v *verifier) run() error {
	m, err := v.chooseMeta()
	if err != nil {
		return err
	}
	v.hwm = m.hwm
	if v.hwm < 3 || v.hwm > v.size/v.ps {
		return v.damaged("high-water mark %d pages does not fit the file (%d pages of %d bytes)", v.hwm, v.size/v.ps, v.ps)
	}
	if m.root < 2 || m.root >= v.hwm {
		return v.damaged("root page %d outside 2..%d", m.root, v.hwm-1)
	}
	if m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= v.hwm) {
		return v.damaged("free-list page %d outside 2..%d", m.freelist, v.hwm-1)
	}
	v.seen = map[uint64]bool{0: true, 1: true}
	var free []uint64
	if m.freelist != noFreelist {
		if free, err = v.freelist(m.freelist); err != nil {
			return err
		}
	}
	if err := v.tree(m.root); err != nil {
		return err
	}
	for _, id := range free {
		if v.seen[id] {
			return v.damaged("page %d is both free and in use", id)
		}
	}
	return nil
}

// chooseMeta finds the page size and the meta bbolt will use: the valid
// one of pages 0 and 1 with the higher transaction id.
func (v *verifier) chooseMeta() (meta, error) {
	if v.size < 2*minPageSize {
		return meta{}, v.damaged("%d bytes is too small for a bolt database", v.size)
	}
	// The page size is in the first valid meta; page 1 is at one page
	// size, which is what bbolt searches for when page 0 is damaged.
	head, err := v.readAt(0, pageHeaderSize+metaSize)
	if err != nil {
		return meta{}, err
	}
	m, ok := parseMeta(head)
	for shift := 0; !ok && shift <= 14; shift++ {
		off := uint64(minPageSize) << shift
		if off+pageHeaderSize+metaSize > v.size {
			break
		}
		b, err := v.readAt(off, pageHeaderSize+metaSize)
		if err != nil {
			return meta{}, err
		}
		if m, ok = parseMeta(b); ok && m.pageSize != off {
			ok = false
		}
	}
	if !ok {
		return meta{}, v.damaged("no valid meta page (wrong magic, version or checksum): not a bolt database, or both meta pages damaged")
	}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, v.damaged("page size %d", m.pageSize)
	}
	v.ps = m.pageSize
	if v.size < 2*v.ps {
		return meta{}, v.damaged("%d bytes is less than its two meta pages of %d bytes", v.size, v.ps)
	}
	var best meta
	found := false
	for id := uint64(0); id < 2; id++ {
		b, err := v.readAt(id*v.ps, pageHeaderSize+metaSize)
		if err != nil {
			return meta{}, err
		}
		c, ok := parseMeta(b)
		if !ok || c.pageSize != v.ps || ne.Uint16(b[8:]) != metaPageFlag {
			continue
		}
		if !found || c.txid > best.txid {
			best, found = c, true
		}
	}
	if !found {
		return meta{}, v.damaged("no valid meta page at page size %d", v.ps)
	}
	return best, nil
}

// page reads page id and its overflow pages, checking its header, its
// bounds and that no page is reached twice.
func (v *verifier) page(id uint64, wantFlags ...uint16) ([]byte, uint16, error) {
	if id < 2 || id >= v.hwm {
		return nil, 0, v.damaged("reference to page %d outside 2..%d", id, v.hwm-1)
	}
	hdr, err := v.readAt(id*v.ps, pageHeaderSize)
	if err != nil {
		return nil, 0, err
	}
	if got := ne.Uint64(hdr[0:]); got != id {
		return nil, 0, v.damaged("page %d says it is page %d", id, got)
	}
	flags := ne.Uint16(hdr[8:])
	okFlags := false
	for _, f := range wantFlags {
		okFlags = okFlags || flags == f
	}
	if !okFlags {
		return nil, 0, v.damaged("page %d has type flags %#x, want %#x", id, flags, wantFlags)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if overflow >= v.hwm-id {
		return nil, 0, v.damaged("page %d overflows %d pages past the high-water mark %d", id, overflow, v.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if v.seen[p] {
			return nil, 0, v.damaged("page %d is reached twice (a cycle or a shared page)", p)
		}
		v.seen[p] = true
	}
	buf, err := v.readAt(id*v.ps, (overflow+1)*v.ps)
	return buf, flags, err
}

// pageRef is a page to check and the key range its keys must lie in:
// at least lo (nil: no bound), below hi (nil: no bound).
type pageRef struct {
	id     uint64
	lo, hi []byte
}

// tree walks the bucket tree from the root page: every page, and every
// bucket's tree below it, with its keys in order (bbolt panics at open on
// keys out of order, when it rebuilds the free list).
func (v *verifier) tree(root uint64) error {
	stack := []pageRef{{id: root}}
	for len(stack) > 0 {
		ref := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		buf, flags, err := v.page(ref.id, branchPageFlag, leafPageFlag)
		if err != nil {
			return err
		}
		var children []pageRef
		if flags == branchPageFlag {
			children, err = v.branch(ref, buf)
		} else {
			var roots []uint64
			roots, err = v.leaf(fmt.Sprintf("page %d", ref.id), buf, ref.lo, ref.hi, 0)
			for _, r := range roots {
				children = append(children, pageRef{id: r}) // a bucket: keys of its own
			}
		}
		if err != nil {
			return err
		}
		stack = append(stack, children...)
	}
	return nil
}

// inOrder checks key against the previous key of its page (prev, nil for
// the first) and the page's range.
func (v *verifier) inOrder(where string, i int, key, prev, lo, hi []byte) error {
	switch {
	case i > 0 && bytes.Compare(prev, key) >= 0:
		return v.damaged("%s: key %d is not after the key before it", where, i)
	case i == 0 && lo != nil && bytes.Compare(key, lo) < 0:
		return v.damaged("%s: first key is before its parent's", where)
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return v.damaged("%s: key %d is not before the parent's next key", where, i)
	}
	return nil
}

// elems checks that a page's count elements fit in it.
func (v *verifier) elems(where string, buf []byte) (int, error) {
	count := int(ne.Uint16(buf[10:]))
	if uint64(pageHeaderSize)+uint64(count)*elemSize > uint64(len(buf)) {
		return 0, v.damaged("%s: %d elements do not fit in %d bytes", where, count, len(buf))
	}
	return count, nil
}

// span checks that the bytes at element-relative pos, n long, lie in buf.
func (v *verifier) span(where string, buf []byte, elemAt int, pos, n uint32) ([]byte, error) {
	start := uint64(elemAt) + uint64(pos)
	end := start + uint64(n)
	if end > uint64(len(buf)) {
		return nil, v.damaged("%s: an element's key or value (%d bytes at %d) runs past the page (%d bytes)", where, n, start, len(buf))
	}
	return buf[start:end], nil
}

func (v *verifier) branch(ref pageRef, buf []byte) ([]pageRef, error) {
	where := fmt.Sprintf("page %d", ref.id)
	count, err := v.elems(where, buf)
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, v.damaged("%s: a branch page with no elements", where)
	}
	keys := make([][]byte, count)
	children := make([]pageRef, count)
	for i := range count {
		at := pageHeaderSize + i*elemSize
		k, err := v.span(where, buf, at, ne.Uint32(buf[at:]), ne.Uint32(buf[at+4:]))
		if err != nil {
			return nil, err
		}
		var prev []byte
		if i > 0 {
			prev = keys[i-1]
		}
		if err := v.inOrder(where, i, k, prev, ref.lo, ref.hi); err != nil {
			return nil, err
		}
		keys[i] = k
		children[i] = pageRef{id: ne.Uint64(buf[at+8:]), lo: k, hi: ref.hi}
		if i > 0 {
			children[i-1].hi = k
		}
	}
	return children, nil
}

// leaf checks a leaf page's elements and returns the root pages of the
// buckets it holds; inline buckets (root 0, their page inside the value)
// are checked in place.
func (v *verifier) leaf(where string, buf []byte, lo, hi []byte, depth int) ([]uint64, error) {
	count, err := v.elems(where, buf)
	if err != nil {
		return nil, err
	}
	var roots []uint64
	var prev []byte
	for i := range count {
		at := pageHeaderSize + i*elemSize
		flags, pos, ksize, vsize := ne.Uint32(buf[at:]), ne.Uint32(buf[at+4:]), ne.Uint32(buf[at+8:]), ne.Uint32(buf[at+12:])
		key, err := v.span(where, buf, at, pos, ksize)
		if err != nil {
			return nil, err
		}
		if err := v.inOrder(where, i, key, prev, lo, hi); err != nil {
			return nil, err
		}
		prev = key
		val, err := v.span(where, buf, at, pos+ksize, vsize)
		if err != nil || pos+ksize < pos {
			return nil, v.damaged("%s: element %d runs past the page", where, i)
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		if len(val) < bucketHeader {
			return nil, v.damaged("%s: bucket element %d has a %d-byte header", where, i, len(val))
		}
		if root := ne.Uint64(val); root != 0 {
			roots = append(roots, root)
			continue
		}
		inline := val[bucketHeader:]
		if len(inline) < pageHeaderSize || ne.Uint16(inline[8:]) != leafPageFlag {
			return nil, v.damaged("%s: inline bucket %d is not a leaf page", where, i)
		}
		if depth >= maxInlineNested {
			return nil, v.damaged("%s: inline buckets nested %d deep", where, depth)
		}
		sub, err := v.leaf(fmt.Sprintf("%s, inline bucket %d", where, i), inline, nil, nil, depth+1)
		if err != nil {
			return nil, err
		}
		roots = append(roots, sub...)
	}
	return roots, nil
}

// freelist checks a persisted free list and returns its page ids.
func (v *verifier) freelist(id uint64) ([]uint64, error) {
	buf, _, err := v.page(id, freelistFlag)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("free-list page %d", id)
	idx, count := uint64(0), uint64(ne.Uint16(buf[10:]))
	if count == 0xFFFF {
		if len(buf) < pageHeaderSize+8 {
			return nil, v.damaged("%s: no room for its count", where)
		}
		idx, count = 1, ne.Uint64(buf[pageHeaderSize:])
	}
	room := (uint64(len(buf)) - pageHeaderSize) / 8
	if idx > room || count > room-idx {
		return nil, v.damaged("%s: %d ids do not fit in %d bytes", where, count, len(buf))
	}
	ids := make([]uint64, count)
	dup := make(map[uint64]bool, count)
	for i := range ids {
		p := ne.Uint64(buf[pageHeaderSize+(idx+uint64(i))*8:])
		if p < 2 || p >= v.hwm {
			return nil, v.damaged("%s: free page %d outside 2..%d", where, p, v.hwm-1)
		}
		if dup[p] {
			return nil, v.damaged("%s: page %d freed twice", where, p)
		}
		dup[p] = true
		ids[i] = p
	}
	return ids, nil
}
