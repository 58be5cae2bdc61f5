package redisconf

import (
	"strings"
	"testing"
)

// HostPort is the one reading of a node address for Sentinel and Cluster
// DSNs: both schemes' urls_test.go check it through their parsers too.
func TestHostPort(t *testing.T) {
	for _, c := range []struct {
		name, in, want, err string
	}{
		{"host", "redis1", "redis1:7000", ""},
		{"host-port", "redis1:7001", "redis1:7001", ""},
		{"ipv4", "10.0.0.1:6379", "10.0.0.1:6379", ""},
		{"ipv6", "[2001:db8::1]:7000", "[2001:db8::1]:7000", ""},
		{"ipv6-default-port", "[::1]", "[::1]:7000", ""},
		{"ipv6-zone", "[fe80::1%eth0]:7000", "[fe80::1%eth0]:7000", ""},
		{"empty", "", "", "empty address"},
		{"empty-port", "redis1:", "", "empty port"},
		{"ipv6-empty-port", "[::1]:", "", "empty port"},
		{"ipv6-unbracketed", "2001:db8::1", "", "goes in brackets"},
		{"ipv6-unclosed", "[::1", "", "missing ']'"},
		{"ipv4-in-brackets", "[10.0.0.1]:7000", "", "not an IPv6 address"},
		{"empty-zone", "[fe80::1%]:7000", "", "not an IPv6 address"},
		{"junk-after-brackets", "[::1]x", "", "unexpected"},
		{"no-host", ":7000", "", "no host"},
		{"bad-host", "re dis:7000", "", "not a host name"},
		{"port-zero", "redis1:0", "", "not in 1..65535"},
		{"port-word", "redis1:http", "", "not in 1..65535"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := HostPort(c.in, 7000)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("HostPort(%q) = %q, %v; want an error saying %q", c.in, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("HostPort(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

// A value that is not address-shaped may be a secret given to the wrong
// parameter: errors must not quote it.
func TestPrintableAddr(t *testing.T) {
	for in, want := range map[string]bool{
		"redis1:7000": true, "[2001:db8::1]:7000": true, "[fe80::1%eth0]:1": true,
		"p@ssw0rd": false, "a b": false, "x/y": false, "secret&x=1": false,
	} {
		if got := PrintableAddr(in); got != want {
			t.Errorf("PrintableAddr(%q) = %v, want %v", in, got, want)
		}
	}
}
