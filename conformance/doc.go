// Package conformance is the shared test suite every alertstore backend
// runs against itself, ours and third parties' alike.
//
// A backend's test provides a Harness (how to open its driver on a fresh
// namespace) and calls RunConformanceTests:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunConformanceTests(t, func(ctx context.Context, t testing.TB) (conformance.Harness, error) {
//			return myHarness{}, nil
//		})
//	}
//
// A backend reached by DSN needs no harness type: DSNHarness opens its
// drivers through the registry from a DSN.
//
// Each behaviour is one subtest with a stable name (see Checks); the names
// are a public contract, so a backend that cannot meet a rule yet can
// -skip it by name, visibly. Every subtest runs on its own namespace, so
// none depends on another's state. Run is the same suite without package
// testing, returning results: the CLI's selftest uses it.
//
// RunDSNChecks checks the other half of a backend, its DSN: an invalid DSN
// (an unknown parameter, a bad shared parameter, the backend's own
// rejects) fails with backend.ErrInvalidConfig, names what is wrong, shows
// no password and does no I/O; see DSNCase.
//
// What needs a process to die is outside the suite: CrashTest, the crash
// check of the durable capability, re-executes the test binary as a writer
// and SIGKILLs it.
//
// This package imports no container code; conformance/containers starts
// Redis and Valkey servers for the backends that need them.
package conformance
