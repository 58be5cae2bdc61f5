package chain

// The messages of the chain's log records: stable, for alerting on them
// (docs/operations.md lists them with their attributes). Every record
// also has the attribute "tier" or "from"/"to", tier names, never DSNs.
const (
	// FallbackMessage (Warn): a tier stopped answering; writes go to the
	// next one. Attributes: tier, error.
	FallbackMessage = "chain: tier is down, writes go to the next tier"
	// RecoveredMessage (Info): a down tier answers again. Attributes:
	// tier.
	RecoveredMessage = "chain: tier answers again"
	// ReplayedMessage (Info): one replay session moved entries up.
	// Attributes: from, to, alerts, took.
	ReplayedMessage = "chain: replayed alerts"
	// ReplayProgressMessage (Info): one step of an explicit Replay.
	// Attributes: from, to, moved (so far), backlog (left).
	ReplayProgressMessage = "chain: replay progress"
	// ReplayStoppedMessage (Warn): a replay session failed; the next one
	// goes on. Attributes: from, to, error.
	ReplayStoppedMessage = "chain: replay stopped"
	// SecurityFailureMessage (Error): a tier failed a security check; the
	// chain does not fall back past it. Attributes: tier, op, error.
	SecurityFailureMessage = "chain: security failure on a tier; not falling back"
	// SecurityProbeMessage (Error): a down tier answers its probe but
	// fails a security check. Attributes: tier, error.
	SecurityProbeMessage = "chain: security failure probing a down tier; writes stay on the next tier"
)
