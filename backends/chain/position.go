package chain

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/google/uuid"

	"github.com/apt-detection/alertstore/backend"
)

// Positions the chain hands out (Entry.Pos, and so cursors) are of two
// kinds, told apart by bit 62, so that a cursor of one kind can be
// translated when reads switch to the other:
//
//   - tier positions, while one tier is read alone: the tier's index in
//     bits 58..61 and the tier's own position below. Tier 0's positions
//     are its own, unchanged: a healthy chain's cursors are the
//     primary's.
//   - merged positions, while several tiers are read together: bit 62,
//     then the alert's time key shifted left by 2, then 2 tie bits.
const (
	mergedBit = int64(1) << 62
	tierShift = 58
	posMask   = int64(1)<<tierShift - 1
)

func tierPos(t int, pos int64) int64 { return int64(t)<<tierShift | pos }

func splitTierPos(p int64) (t int, pos int64) { return int(p >> tierShift & 0xF), p & posMask }

func isMerged(p int64) bool { return p&mergedBit != 0 }

// checkTierPos refuses a tier position that does not fit the chain's
// cursor space (2^58: no counter of ours comes near it).
func checkTierPos(t *tier, pos int64) error {
	if pos <= 0 || pos > posMask {
		return fmt.Errorf("%w: chain: tier %s returned position %d, outside 1..2^58 that chain cursors can carry", backend.ErrUnavailable, t.name, pos)
	}
	return nil
}

// copyKey identifies one copy of an alert: its id and the SHA-256 of its
// bytes ("" when it has no id). Copies of one alert in two tiers (a replay
// interrupted, a write retried) have the same bytes, because the chain
// moves entries as they are; an entry that reuses an alert's id with
// other content (a forgery, a broken writer) has another key, so that the
// chain neither merges it with the alert nor, in a replay, drops the
// alert because the other tier has "its" id.
func copyKey(id string, data []byte) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256(data)
	return id + "\x00" + string(sum[:])
}

// entryID returns the alert id of a stored entry, "" for an entry that has
// none or is not JSON.
func entryID(data []byte) string {
	var s struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &s) != nil || len(s.ID) == 0 || s.ID[0] != '"' {
		return ""
	}
	var id string
	if json.Unmarshal(s.ID, &id) != nil {
		return ""
	}
	return id
}

// orderKey returns an entry's id and its merged position: the time key is
// the UUIDv7's 48-bit milliseconds and 12-bit sub-millisecond sequence when
// the id is one (every alert a Store gave an id), else the timestamp's
// milliseconds with 12 bits of a hash of the entry, else (not an alert)
// just the hash, so that foreign entries sort oldest. The 2 tie bits come
// from the id's random part, or the hash.
func orderKey(data []byte) (id string, pos int64) {
	var s struct {
		ID        json.RawMessage `json:"id"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	_ = json.Unmarshal(data, &s)
	if len(s.ID) > 0 && s.ID[0] == '"' {
		_ = json.Unmarshal(s.ID, &id)
	}
	h := fnv.New64a()
	_, _ = h.Write(data)
	sum := int64(h.Sum64() & (1<<14 - 1))
	var key, tie int64
	if u, err := uuid.Parse(id); err == nil && u.Version() == 7 {
		ms := int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
		seq := int64(u[6]&0x0F)<<8 | int64(u[7])
		key = ms<<12 | seq
		tie = int64(u[9] & 3)
	} else {
		var ts string
		if len(s.Timestamp) > 0 && s.Timestamp[0] == '"' {
			_ = json.Unmarshal(s.Timestamp, &ts)
		}
		if t, err := backend.ParseTimestamp(ts); err == nil && t.UnixMilli() > 0 && t.UnixMilli() < 1<<48 {
			key = t.UnixMilli()<<12 | sum&0xFFF
		} else {
			key = sum & 0xFFF
		}
		tie = sum >> 12 & 3
	}
	return id, mergedBit | key<<2 | tie
}
