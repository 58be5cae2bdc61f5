package backend

import (
	"crypto/sha256"
	"hash"
)

// listChunkBytes bounds what one Scan of a List may return beside the
// page itself: a chunk holds at most listChunkBytes / MaxAlertBytes
// entries (at least 16, at most 1000). With the page, a List holds at most
// about limit x MaxAlertBytes + 16 MiB of entries.
const listChunkBytes = 16 << 20

// listChunkMax is the most entries one Scan of a List asks for.
func listChunkMax(maxAlertBytes int) int {
	return max(16, min(1000, listChunkBytes/max(maxAlertBytes, 1)))
}

// pageReader turns the entries a List examines into alerts: it skips and
// counts what is not an alert (Page.Skipped, Page.Oversized), leaves out
// identical copies of an alert (Page.Duplicates), and flags copies of an
// id whose content differs (Page.Conflicts, Alert.IDConflict) without
// choosing between them: whoever can append to the storage can write an
// entry with a real alert's id, and keeping only one copy would let that
// entry hide the alert.
type pageReader struct {
	page     *Page
	maxBytes int
	ids      map[string]*idCopies
	h        hash.Hash
}

// idCopies is what a List knows of one id: the content sums of its
// distinct copies, and the copies it has put in the page.
type idCopies struct {
	first    [sha256.Size]byte   // the first copy's sum
	sums     [][sha256.Size]byte // the other distinct copies' sums
	listed   []*Alert
	conflict bool
}

func newPageReader(page *Page, maxBytes int) *pageReader {
	return &pageReader{page: page, maxBytes: maxBytes, ids: map[string]*idCopies{}, h: sha256.New()}
}

// admit examines one entry and returns its alert, or nil when the entry is
// skipped (not an alert, over the size cap) or an identical copy of one
// already examined.
func (r *pageReader) admit(e Entry) *Alert {
	r.page.Examined++
	if e.TooLarge > 0 || len(e.Data) > r.maxBytes {
		r.page.Skipped++
		r.page.Oversized++
		return nil
	}
	a, err := decodeStored(e.Data, r.maxBytes)
	if err != nil {
		r.page.Skipped++
		return nil
	}
	id := a.ID()
	if id == "" {
		return a
	}
	sum := a.contentSum(r.h)
	c := r.ids[id]
	if c == nil {
		r.ids[id] = &idCopies{first: sum}
		return a
	}
	if sum == c.first {
		r.page.Duplicates++
		return nil
	}
	for _, s := range c.sums {
		if s == sum {
			r.page.Duplicates++
			return nil
		}
	}
	c.sums = append(c.sums, sum)
	if !c.conflict {
		c.conflict = true
		r.page.Conflicts = append(r.page.Conflicts, id)
		for _, l := range c.listed {
			l.conflict = true
		}
	}
	a.conflict = true
	return a
}

// listed records that a, returned by admit, went into the page, so that a
// conflicting copy found later flags it too.
func (r *pageReader) listed(a *Alert) {
	if c := r.ids[a.ID()]; c != nil && !c.conflict {
		c.listed = append(c.listed, a)
	}
}

// contentSum is the SHA-256 of the alert's compact JSON (MarshalJSON's
// bytes), written straight into h. Two copies differing only in
// whitespace have the same sum; a different key order is different
// content.
func (a *Alert) contentSum(h hash.Hash) [sha256.Size]byte {
	h.Reset()
	h.Write(a.encoded())
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// IDConflict reports whether List found another stored entry with this
// alert's id and different content (see Page.Conflicts). Which copy is
// the real alert, the alert cannot tell: both are listed, and neither
// should be trusted over the other without checking its origin.
func (a *Alert) IDConflict() bool { return a.conflict }
