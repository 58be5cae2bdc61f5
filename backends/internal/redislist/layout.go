// Package redislist is the storage layout and driver logic the two
// Redis-protocol backends share: goredis (go-redis) and valkeygo (valkey-go)
// differ only in the client library, which each wraps in a small Client.
// Keeping the layout, the position arithmetic and the watch protocol in one
// place is what keeps the two backends reading and writing each other's
// data, and the system we replace reading theirs.
//
// # Layout
//
// For a prefix P (default "apt_detection:"):
//
//	P + "alerts"         list of JSON alerts, oldest first (the old system's key)
//	P + "alerts:seq"     integer: how many entries were ever appended through us
//	P + "alerts:events"  pub/sub channel: a message per append (the batch size)
//	P + "alerts:cap"     integer: the namespace's recorded cap (namespace.go)
//	P + "alerts:base"    integer: the counter when the list was last cleared
//	P + "alerts:audit"   list of JSON audit records, oldest first, capped
//
// An append is one MULTI/EXEC: RPUSH the alerts, INCRBY the counter by the
// batch size, LTRIM the list to its newest max_alerts entries, PUBLISH
// the batch size and MGET the recorded cap. Other clients see all of it or none of it; the list is
// never over its cap. `redis-cli llen P+alerts` and a Python LRANGE 0 -1 with
// json.loads keep working, both ways.
//
// # Positions
//
// The entry at list index i (0 = oldest) of a list of length n has position
//
//	Pos = seq - n + 1 + i
//
// so the newest entry has Pos = seq, an entry keeps its Pos while it is
// stored (trimming removes the oldest, which shifts i and n together), and
// Pos grows with every append. Clear deletes the list but keeps the counter,
// so positions never go backwards and an old cursor cannot alias a new entry.
//
// Entries RPUSHed by a legacy writer do not increment the counter. While
// the counter is below the list length (a list the old system filled,
// opened by us for the first time) reads take it to be the length, and the
// next append through us raises it for good, so that the entries it found
// keep the positions readers gave them. The caveat: a foreign push made
// while the counter is ahead of the list (the usual state once the cap
// trims) shifts the positions of every older entry down by one, so paging
// by cursor across it may repeat or skip that many entries; and a watcher
// is not told of foreign pushes (they publish nothing) and usually skips
// them, since the foreign entry takes the position it has already
// delivered.
package redislist

import (
	"strconv"

	"github.com/apt-detection/alertstore/backend"
)

// Keys are the key and channel names of one namespace.
type Keys struct {
	List   string // the alert list, prefix + "alerts"
	Seq    string // the append counter, prefix + "alerts:seq"
	Events string // the pub/sub channel, prefix + "alerts:events"
	Cap    string // the recorded cap, prefix + "alerts:cap"
	Base   string // the counter at the last Clear, prefix + "alerts:base"
	Audit  string // the audit records, prefix + "alerts:audit"
}

// NewKeys names the keys of prefix.
func NewKeys(prefix string) Keys {
	return Keys{
		List: prefix + "alerts", Seq: prefix + "alerts:seq", Events: prefix + "alerts:events",
		Cap: prefix + "alerts:cap", Base: prefix + "alerts:base", Audit: prefix + "alerts:audit",
	}
}

// Window is the reply of WindowScript: the counter and length read in the
// same atomic step as a slice of the list.
type Window struct {
	// Seq is the effective counter: max(stored counter, Len).
	Seq int64
	// Len is the list length.
	Len int64
	// Start is the list index of Items[0].
	Start int64
	// Items is the slice, oldest first. An item over the size bound of
	// WindowArgs is nil: its size is in TooLarge.
	Items [][]byte
	// TooLarge is nil when every item was transferred; otherwise it is as
	// long as Items, and TooLarge[j] > 0 is the size of Items[j], which
	// the script left on the server.
	TooLarge []int64
}

// Entry is Items[j] as a backend.Entry.
func (w *Window) Entry(j int) backend.Entry {
	e := backend.Entry{Pos: w.Pos(j), Data: w.Items[j]}
	if j < len(w.TooLarge) && w.TooLarge[j] > 0 {
		e.Data, e.TooLarge = nil, w.TooLarge[j]
	}
	return e
}

// base is the Pos of list index 0.
func (w *Window) base() int64 { return w.Seq - w.Len + 1 }

// Pos is the position of Items[j].
func (w *Window) Pos(j int) int64 { return w.base() + w.Start + int64(j) }

// Window modes, the first argument of WindowScript.
const (
	// ModeBefore selects up to limit of the newest entries whose Pos is
	// below the given position (0: from the newest).
	ModeBefore = "before"
	// ModeAfter selects up to limit of the oldest entries whose Pos is
	// above the given position.
	ModeAfter = "after"
)

// WindowArgs are the arguments of WindowScript. Items over maxBytes are
// left on the server and reported by size (maxBytes <= 0: no bound).
func WindowArgs(mode string, pos int64, limit, maxBytes int) []string {
	return []string{mode, strconv.FormatInt(pos, 10), strconv.Itoa(limit), strconv.Itoa(maxBytes)}
}

// WindowScript reads the counter, the length and the needed LRANGE slice in
// one atomic step, so that the positions it implies are exact, and fetches
// only that slice (the newest 10 of a 100000-entry list cost 10 entries).
// KEYS: list, seq. ARGV: mode, position, limit, max bytes. Reply: {seq,
// len, start, {items}}, where an item longer than max bytes is replaced by
// its length (an integer, which no entry can be mistaken for): anyone who
// may RPUSH can store a 100 MiB entry, and a reader must not download it
// to learn that it skips it. The items are read with one LRANGE per 16,
// not one LRANGE of the window, so that the script itself holds at most
// 16 entries besides the sizes of those it left out: what a writer can
// make the server hold for a moment is bounded by what 16 of its entries
// already take there (about twice that: the LRANGE reply and its Lua
// strings), not by the window. One LINDEX per item held one entry at a
// time but cost the server a third more CPU per read (a Lua-to-Redis
// call per item; BenchmarkWindowScript in servertest/bench: 100 items,
// ~190 us of server CPU against ~140 us in chunks of 16 and ~30 us for a
// bare LRANGE). A chunk in the newer half of the list is asked for with
// negative indexes, which a server seeks from the newest end whatever
// its version (the window is usually there). Positions stay far below
// 2^53, where Lua's numbers are exact.
const WindowScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then seq = n end
local base = seq - n + 1
local pos = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local start, stop
if ARGV[1] == 'before' then
  local e = n
  if pos > 0 and pos - base < e then e = pos - base end
  if e <= 0 or limit <= 0 then return {seq, n, 0, {}} end
  start = e - limit
  if start < 0 then start = 0 end
  stop = e - 1
else
  start = pos + 1 - base
  if start < 0 then start = 0 end
  if start >= n or limit <= 0 then return {seq, n, start, {}} end
  stop = start + limit - 1
end
local maxb = tonumber(ARGV[4]) or 0
if maxb <= 0 then return {seq, n, start, redis.call('LRANGE', KEYS[1], start, stop)} end
if stop >= n then stop = n - 1 end
local items = {}
for i = start, stop, 16 do
  local j = i + 15
  if j > stop then j = stop end
  local a, b = i, j
  if i >= n / 2 then a, b = i - n, j - n end
  for _, v in ipairs(redis.call('LRANGE', KEYS[1], a, b)) do
    if string.len(v) > maxb then v = string.len(v) end
    items[#items + 1] = v
  end
end
return {seq, n, start, items}
`

// RepairScript raises the counter after an append found it behind the
// list: the entries pushed by another writer (or a counter overwritten by
// hand) are then counted as if appended through us, so that the positions
// readers have been giving them (see WindowScript) do not change. It sets
// the counter to the append's RPUSH reply only if nobody appended since
// (the counter still holds that append's INCRBY reply): a later append
// repairs with its own, newer values instead. KEYS: list, seq. ARGV: the
// INCRBY reply (-1 if INCRBY failed), the RPUSH reply. Reply: the counter.
const RepairScript = `
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local target = tonumber(ARGV[2])
if seq == nil or (seq == tonumber(ARGV[1]) and seq < target) then
  redis.call('SET', KEYS[2], target)
  return target
end
return seq
`
