package main

import "github.com/apt-detection/alertstore/backend"

// canonicalFlagAlert rewrites the severity and timestamp of an alert built
// from put's flags (--severity, --timestamp, --field) into the spellings
// the old Flask dashboard reads: the severity as "Critical", "High",
// "Medium", "Low" or "Info" (it counts by those exact strings; `--severity
// high` must not store "high"), and the timestamp as naive UTC the way
// Python's datetime.isoformat() writes it (it compares
// datetime.fromisoformat(timestamp) with a naive datetime.now(), which
// fails on a "+00:00" or "Z" suffix). The instant is kept: a naive
// timestamp is read as UTC. JSON given as an argument or on stdin is not
// passed through here: it is stored as written.
func canonicalFlagAlert(a *backend.Alert) error {
	if a.SeverityString() != "" {
		if err := a.SetSeverity(a.Severity()); err != nil {
			return err
		}
	}
	if a.TimestampString() != "" {
		if err := a.SetTime(a.Time()); err != nil {
			return err
		}
	}
	return nil
}
