package valkeygo

import (
	"reflect"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backends/internal/sentinel"
	"github.com/apt-detection/alertstore/registry"
)

const sentinelSecret = "s3nt1nel-Pa55"

// TestCredentialMapping checks valkey-go's half of the credential table of
// docs/dsn.md: the sentinel credentials go to Sentinel.*, the user info to
// the data nodes, and the settings the guarantees rest on are set.
func TestCredentialMapping(t *testing.T) {
	d, err := registry.ParseDSN(SchemeSentinel + "://alice:" + secret + "@s1:26379/mymaster/2?addr=[::1]:26380&sentinel_username=sam&sentinel_password=" + sentinelSecret + "&timeout=3s&read_timeout=1s&pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	common, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.ParseDSN(d, common)
	if err != nil {
		t.Fatal(err)
	}
	v := sentinelOption(c)
	for _, f := range []struct {
		field     string
		got, want any
	}{
		{"InitAddress (the sentinels)", v.InitAddress, []string{"s1:26379", "[::1]:26380"}},
		{"Sentinel.MasterSet", v.Sentinel.MasterSet, "mymaster"},
		{"Sentinel.Username", v.Sentinel.Username, "sam"},
		{"Sentinel.Password", v.Sentinel.Password == sentinelSecret, true},
		{"Username", v.Username, "alice"},
		{"Password", v.Password == secret, true},
		{"SelectDB", v.SelectDB, 2},
		{"ConnWriteTimeout", v.ConnWriteTimeout, time.Second},
		{"BlockingPoolSize", v.BlockingPoolSize, 7},
		{"DisableRetry", v.DisableRetry, true},
		{"DisableCache", v.DisableCache, true},
		{"ClientName", v.ClientName, ClientName},
		{"Sentinel.ClientName", v.Sentinel.ClientName, ClientName},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.field, f.got, f.want)
		}
	}
}
