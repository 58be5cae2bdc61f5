package bolt

// SetLiveCopyPaused makes every lock-free backup attempt call f after its
// first chunk, until restore is called.
func SetLiveCopyPaused(f func(attempt int)) (restore func()) {
	liveCopyPaused = f
	return func() { liveCopyPaused = nil }
}
