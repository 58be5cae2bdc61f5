package redisconf_test

import (
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/registry"
)

// FuzzParse: no DSN makes Parse panic, and a password given in the user
// info never shows in an error or in String().
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"redis://localhost",
		"redis://:" + secret + "@h:6380/3?dial_timeout=1s&pool_size=4",
		"rediss://alice:" + secret + "@[::1]:6380/0?tls_server_name=x&tls_insecure_skip_verify=1",
		"unix:///tmp/r.sock?db=2&password=" + secret,
		"valkey://h/1?db=1",
		"redis://h?tls_ca=/nonexistent",
		"redis://%zz@h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := registry.ParseDSN(s)
		if err != nil {
			return
		}
		pass, hasPass := d.Password()
		for _, tr := range []redisconf.Transport{redisconf.TCP, redisconf.TLS, redisconf.Unix} {
			d, _ := registry.ParseDSN(s)
			c, err := redisconf.Parse(d, tr)
			if !hasPass || len(pass) < 6 || strings.Count(s, pass) != 1 {
				continue
			}
			if err != nil && strings.Contains(err.Error(), pass) {
				t.Fatalf("error shows the password: %v", err)
			}
			if err == nil && strings.Contains(c.String(), pass) {
				t.Fatalf("String() shows the password: %s", c)
			}
		}
	})
}
