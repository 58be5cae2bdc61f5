package hashslot

import "testing"

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		want int
	}{
		// "123456789" is the specification's CRC16 check value 0x31C3.
		{"SpecCheckValue", "123456789", 0x31C3 % Slots},
		// Values CLUSTER KEYSLOT gives on Redis 7.0, 8.0 and Valkey 8.1.
		{"Foo", "foo", 12182},
		{"Bar", "bar", 5061},
		{"Empty", "", 0},
		{"OldList", "apt_detection:alerts", Of("{apt_detection:alerts}:seq")},
		{"TagOnly", "{user1000}.following", Of("user1000")},
		{"EmptyTagHashesWholeKey", "foo{}{bar}", int(crc16("foo{}{bar}") % Slots)},
		{"FirstTagOnly", "foo{{bar}}zap", Of("{bar")},
		{"NoClosingBrace", "foo{bar", int(crc16("foo{bar") % Slots)},
		{"SecondBraceAfterEmpty", "foo{bar}{zap}", Of("bar")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.key); got != tc.want {
				t.Errorf("Of(%q) = %d, want %d", tc.key, got, tc.want)
			}
		})
	}
}

func TestCRC16CheckValue(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#x, want 0x31c3 (the XMODEM check value)", got)
	}
}
