// Package archive moves a store's alerts out and back in as NDJSON, in
// the order they were stored and with their ids: what `alertstore export`
// and `alertstore import` do, for any backend.
//
// `list --json | put -` is not that: list prints newest first, so put
// stores the alerts in reverse, and a put that was interrupted and run
// again stores the alerts it had stored a second time. Export writes
// oldest first; Import stores in file order, keeps each alert's id and
// timestamp, and skips what is already stored, so running it again after
// an interruption completes it.
//
// # The file
//
// One alert per line, as the store holds it (Alert.MarshalJSON: the
// stored members in order, compacted), oldest first. Importing a file
// Export wrote stores byte-identical alerts (a store with signing keys
// signs them anew with its own key).
//
// # What an export holds
//
// Export reads with List and cursors, newest first, once, and writes in
// reverse with bounded memory: a store of more than one page is spooled
// to a temporary file, each page reversed, and copied out from the last
// page. The export holds the alerts stored when it began, oldest first;
// alerts stored while it runs are left out (cursor paging starts below
// them). Writers that keep appending to a full store trim its oldest
// alerts, and an export racing them loses those it had not read yet:
// reading from the newest end, it then holds a contiguous run, the newest
// of what was stored at the start, with no gap and no alert twice, and
// ExportResult.Trimmed says how many it lost. Cursors never go back, so a
// Clear during an export shortens it the same way.
//
// # What an import stores
//
// Every line should be an alert with an id and a timestamp (an export's
// lines are): Import keeps them, so the same file imported twice names the
// same alerts; a line without a timestamp is refused. An alert whose id
// and content are both stored already is skipped
// (ImportResult.AlreadyStored): that is what makes an interrupted import
// resumable. Identical copies of an alert count as one, as List shows
// them. An alert whose id is stored with other content is a conflict
// (ErrConflict): it is reported and not stored, since the Store itself
// does not refuse a second alert with an id and List would show both
// copies flagged (Page.Conflicts); which one is genuine is for a person to
// decide. An alert without an id (written by the old system) gets one from
// the Store, and counts as stored when an alert with the same content but
// for its id is. To tell what is stored, Import first reads the ids and
// content sums of every alert the store holds: 32 bytes an alert (32 KB
// for the default cap of 1000, 320 MB for the largest, 10 million), and
// about 85 bytes for each alert it stores. A store whose cap is smaller
// than the file keeps the newest (ImportResult.Trimmed counts the rest).
package archive
