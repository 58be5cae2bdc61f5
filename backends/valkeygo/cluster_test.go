package valkeygo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/cluster"
	"github.com/apt-detection/alertstore/conformance"
	"github.com/apt-detection/alertstore/registry"
)

func clusterOpt(t *testing.T, dsn string) valkey.ClientOption {
	t.Helper()
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.Common()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cluster.ParseDSN(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return clusterOption(cc, cfg)
}

func TestClusterOption(t *testing.T) {
	got := clusterOpt(t, "valkey+cluster://bob:"+secret+"@[::1]:7000?addr=10.0.0.2:7001&timeout=2s&dial_timeout=300ms&pool_size=3&tls=true")
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"InitAddress", fmt.Sprint(got.InitAddress), "[[::1]:7000 10.0.0.2:7001]"},
		{"Username", got.Username, "bob"},
		{"Password", got.Password == secret, true},
		{"Dialer.Timeout", got.Dialer.Timeout, 300 * time.Millisecond},
		{"ConnWriteTimeout", got.ConnWriteTimeout, 2 * time.Second},
		{"BlockingPoolSize", got.BlockingPoolSize, 3},
		{"TLSConfig set", got.TLSConfig != nil, true},
		// The guarantees, whatever the DSN.
		{"DisableRetry", got.DisableRetry, true},
		{"DisableCache", got.DisableCache, true},
		{"ForceSingleClient", got.ForceSingleClient, false},
		{"SendToReplicas", got.SendToReplicas == nil, true},
		{"ClientName", got.ClientName, ClientName},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

// TestClusterSourceRefusesStandalone: a seed that answers as a standalone
// server is a mistake in the DSN, reported as a configuration error, not
// used as a cluster of one.
func TestClusterSourceRefusesStandalone(t *testing.T) {
	s := &clusterSource{lazy: &lazy{c: standaloneClient{}}, seeds: []string{"h:1"}}
	_, err := s.get(context.Background())
	if !errors.Is(err, backend.ErrInvalidConfig) || !strings.Contains(err.Error(), "not a cluster node") {
		t.Fatalf("get = %v, want ErrInvalidConfig saying not a cluster node", err)
	}
}

// standaloneClient is a valkey.Client that says it is a standalone one.
type standaloneClient struct{ valkey.Client }

func (standaloneClient) Mode() valkey.ClientMode { return valkey.ClientModeStandalone }

func TestClusterDSNChecks(t *testing.T) {
	conformance.RunDSNChecks(t, conformance.DSNCase{
		DSN: "valkey+cluster://alice:" + conformance.DSNSecret + "@{addr}?dial_timeout=500ms",
		Rejects: []conformance.DSNReject{
			{Name: "client-library-option", DSN: "valkey+cluster://:" + conformance.DSNSecret + "@{addr}?send_to_replicas=true", Says: `unknown parameter "send_to_replicas"`},
			{Name: "database-path", DSN: "valkey+cluster://:" + conformance.DSNSecret + "@{addr}/2", Says: "only database 0"},
			{Name: "hash-tag-prefix", DSN: "valkey+cluster://{addr}?password=" + conformance.DSNSecret + "&prefix=%7Bsite%7D:", Says: "hash tag"},
		},
	})
}
