package conformance

import (
	"context"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// Harness opens drivers of the backend under test.
type Harness interface {
	// MakeDriver opens a driver on the namespace cfg.Prefix with the
	// given cap and limits. The suite uses a fresh prefix per subtest;
	// calling MakeDriver twice with the same prefix must reach the same
	// data when the driver declares Capabilities().Shared, and the same
	// data after Close when it declares Persistent.
	MakeDriver(ctx context.Context, cfg backend.Config) (backend.Driver, error)
	// Close releases what the harness holds (connections, temp dirs).
	Close()
}

// HarnessMaker makes a harness for one run of the suite.
type HarnessMaker func(ctx context.Context, t testing.TB) (Harness, error)
