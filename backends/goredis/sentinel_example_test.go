package goredis_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/apt-detection/alertstore/backend"
	_ "github.com/apt-detection/alertstore/backends/goredis" // registers redis+sentinel:// (valkeygo registers valkey+sentinel://)
	"github.com/apt-detection/alertstore/registry"
)

// Store alerts in the master of a Sentinel-managed group. The user info
// holds the data nodes' password; the sentinels' own password is a
// parameter. min_replicas=1 makes every store wait until a replica has the
// alert.
func Example_sentinel() {
	ctx := context.Background()
	store, err := registry.Open(ctx, "redis+sentinel://:data-pass@sentinel1:26379/mymaster/0"+
		"?addr=sentinel2:26379&addr=sentinel3:26379"+
		"&sentinel_password_file=/run/secrets/sentinel"+
		"&min_replicas=1&replica_timeout=500ms&timeout=2s")
	if err != nil {
		log.Fatal(err) // ErrUnavailable naming the sentinels tried, if none answers
	}
	defer store.Close()

	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	_ = a.SetSeverity(backend.SeverityHigh)
	for attempt := 0; attempt < 3; attempt++ {
		// Not acknowledged (a failover, too few replicas): maybe stored,
		// maybe not. Retrying the same alert is safe: it keeps its id,
		// and List shows it once.
		if err = store.Store(ctx, a); !errors.Is(err, backend.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}

// DSNs are checked before anything is dialled: a parameter of another
// client's URL format is an error naming it, and no password shows.
func Example_sentinelStrictDSN() {
	_, err := registry.Open(context.Background(),
		"redis+sentinel://:hunter2@sentinel1:26379/mymaster?master_name=mymaster&sentinel_password=s3cret")
	fmt.Println(err)
	fmt.Println(errors.Is(err, backend.ErrInvalidConfig))
	// Output:
	// alertstore: redis+sentinel: open: invalid config: DSN redis+sentinel://:xxxxx@sentinel1:26379/mymaster?master_name=xxxxx&sentinel_password=xxxxx: unknown parameter "master_name" for scheme redis+sentinel
	// true
}
