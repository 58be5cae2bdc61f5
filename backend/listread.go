package backend

import (
	"bytes"
	"crypto/sha256"
	"hash"
)

// listChunkBytes bounds what one Scan of a List may return beside the
// page itself: a chunk holds at most listChunkBytes / MaxAlertBytes
// entries (at least 16, at most 1000), or the page's limit if that is
// more (Store.list). With the page, a List holds at most about
// limit x MaxAlertBytes + max(16 MiB, limit x MaxAlertBytes) of entries.
const listChunkBytes = 16 << 20

// listChunkMax is the most entries one Scan of a List asks for.
func listChunkMax(maxAlertBytes int) int {
	return max(16, min(1000, listChunkBytes/max(maxAlertBytes, 1)))
}

// listKeptBytes bounds the earlier entries a List keeps to compare later
// copies of their ids with (see pageReader): past it, it keeps their
// SHA-256 instead.
const listKeptBytes = 16 << 20

// pageReader turns the entries a List examines into alerts: it skips and
// counts what is not an alert (Page.Skipped, Page.Oversized), leaves out
// identical copies of an alert (Page.Duplicates), and flags copies of an
// id whose content differs (Page.Conflicts, Alert.IDConflict) without
// choosing between them: whoever can append to the storage can write an
// entry with a real alert's id, and keeping only one copy would let that
// entry hide the alert.
//
// Copies of one id are rare (a writer that retried, a forgery), so the
// reader does no work for them until an id comes back: it keeps the first
// copy's compact encoding (the entry's own bytes, not a copy), and
// compares a later copy with it byte for byte. Only the copies after a
// second distinct one, and first copies past listKeptBytes (a List that
// examines very many entries), are kept as SHA-256 sums.
type pageReader struct {
	page     *Page
	maxBytes int
	ids      map[string]idCopies
	kept     int       // bytes of first copies kept in ids
	keepMax  int       // listKeptBytes (smaller in tests)
	h        hash.Hash // made on first use
	// last is the id of the alert admit returned last, for listed.
	last string
}

// idCopies is what a List knows of one id.
type idCopies struct {
	// first is the first copy's compact encoding; nil when only its sum
	// is kept (in more.sums).
	first []byte
	// listed is the copy put in the page, if any: before a conflict
	// there is at most one (identical copies are not listed twice).
	listed *Alert
	// more is set once a second copy was seen, or first was not kept.
	more *idMore
}

// idMore is what a List knows of an id seen more than once.
type idMore struct {
	// sums are the content sums of the distinct copies not in first.
	sums     [][sha256.Size]byte
	conflict bool
}

func newPageReader(page *Page, maxBytes int) *pageReader {
	return &pageReader{page: page, maxBytes: maxBytes, keepMax: listKeptBytes, ids: make(map[string]idCopies, min(cap(page.Alerts), 1024))}
}

// admit examines one entry and returns its alert, or nil when the entry is
// skipped (not an alert, over the size cap) or an identical copy of one
// already examined.
func (r *pageReader) admit(e Entry) *Alert {
	r.page.Examined++
	r.last = ""
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
	r.last = id
	enc := a.encoded()
	c, seen := r.ids[id]
	if !seen {
		if r.kept+len(enc) <= r.keepMax {
			r.kept += len(enc)
			r.ids[id] = idCopies{first: enc}
		} else {
			r.ids[id] = idCopies{more: &idMore{sums: [][sha256.Size]byte{r.sum(enc)}}}
		}
		return a
	}
	if c.first != nil && bytes.Equal(enc, c.first) {
		r.page.Duplicates++
		return nil
	}
	if c.more == nil {
		c.more = &idMore{}
		r.ids[id] = c
	}
	sum := r.sum(enc)
	for _, s := range c.more.sums {
		if s == sum {
			r.page.Duplicates++
			return nil
		}
	}
	c.more.sums = append(c.more.sums, sum)
	if !c.more.conflict {
		c.more.conflict = true
		r.page.Conflicts = append(r.page.Conflicts, id)
		if c.listed != nil {
			c.listed.conflict = true
		}
	}
	a.conflict = true
	return a
}

// listed records that a, the alert admit returned last, went into the
// page, so that a conflicting copy found later flags it too.
func (r *pageReader) listed(a *Alert) {
	if r.last == "" {
		return
	}
	if c := r.ids[r.last]; c.listed == nil && (c.more == nil || !c.more.conflict) {
		c.listed = a
		r.ids[r.last] = c
	}
}

// sum is the SHA-256 of an alert's compact JSON (its encoded bytes). Two
// copies differing only in whitespace have the same sum; a different key
// order is different content.
func (r *pageReader) sum(enc []byte) [sha256.Size]byte {
	if r.h == nil {
		r.h = sha256.New()
	}
	r.h.Reset()
	r.h.Write(enc)
	var sum [sha256.Size]byte
	r.h.Sum(sum[:0])
	return sum
}

// IDConflict reports whether List found another stored entry with this
// alert's id and different content (see Page.Conflicts). Which copy is
// the real alert, the alert cannot tell: both are listed, and neither
// should be trusted over the other without checking its origin.
func (a *Alert) IDConflict() bool { return a.conflict }
