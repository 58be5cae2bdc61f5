package backend

// Hooks for the external tests and benchmarks of this package.

// EncodeForStore is the portable write path of StoreBatch (Store.encode):
// validation, id, timestamp, signature, the bytes handed to the driver.
func EncodeForStore(s *Store, alerts []*Alert) ([][]byte, error) { return s.encode(alerts, 0) }

// ReadEntry is the portable read path of List for one entry: decode and
// check it (pageReader.admit: skip what is not an alert, de-duplicate by
// id and content) and apply the query's filters. It reports whether the
// entry would be listed.
func ReadEntry(r *EntryReader, e Entry, q *Query) bool {
	a := r.pr.admit(e)
	return a != nil && q.match(a)
}

// EntryReader holds the state of one List's reads.
type EntryReader struct{ pr *pageReader }

// NewEntryReader starts a List's reads.
func NewEntryReader(maxBytes int) *EntryReader {
	return &EntryReader{pr: newPageReader(&Page{}, maxBytes)}
}
