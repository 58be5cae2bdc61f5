// Package hashslot computes Redis Cluster hash slots: which of the 16384
// slots a key belongs to, by the rule of the cluster specification
// (CRC16-CCITT/XMODEM of the key, or of its hash tag, modulo 16384).
//
// The cluster backends need it without a client library (the layout
// code in backends/internal/redislist links neither go-redis nor
// valkey-go) to choose hash tags that land in chosen slots, and the
// container helpers need it to find a key owned by a given master. It is
// a dozen lines of a published algorithm, checked against the values the
// specification and the servers give (hashslot_test.go).
package hashslot

// Slots is the number of hash slots of a Redis or Valkey cluster.
const Slots = 16384

// Of returns the slot of key. When key holds a non-empty hash tag (the
// text between the first '{' and the first '}' after it), only the tag is
// hashed, so keys sharing a tag share a slot.
func Of(key string) int {
	return int(crc16(Tag(key)) % Slots)
}

// Tag returns the part of key that is hashed: its hash tag when it has a
// non-empty one, else key itself.
func Tag(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j == i+1 {
					return key // "{}": empty tag, the whole key is hashed
				}
				return key[i+1 : j]
			}
		}
		return key
	}
	return key
}

// crc16 is CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no
// reflection, no final XOR, as the cluster specification defines it.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
