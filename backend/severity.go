package backend

import (
	"fmt"
	"strings"
)

// Severity is an alert's severity, ordered so that filters can ask for a
// minimum: SeverityInfo < SeverityLow < SeverityMedium < SeverityHigh <
// SeverityCritical. The zero value, SeverityUnknown, is an alert that has no
// severity field; it sorts below every real level.
type Severity int8

// The severity levels.
const (
	SeverityUnknown Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"", "Info", "Low", "Medium", "High", "Critical"}

// String returns the capitalised spelling the system we replace wrote
// ("High"), or "" for SeverityUnknown.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("Severity(%d)", int8(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity word case-insensitively, ignoring
// surrounding spaces: "high", "HIGH" and "High" are all SeverityHigh.
// "informational" is accepted for SeverityInfo. Any other word is an error
// wrapping ErrBadSeverity; so is the empty string.
func ParseSeverity(word string) (Severity, error) {
	w := strings.ToLower(strings.TrimSpace(word))
	switch w {
	case "info", "informational":
		return SeverityInfo, nil
	case "low":
		return SeverityLow, nil
	case "medium":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	case "critical":
		return SeverityCritical, nil
	}
	return SeverityUnknown, fmt.Errorf("%w %q (want one of info, low, medium, high, critical)", ErrBadSeverity, word)
}

// Severities lists the real levels, lowest first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// parseSeverityRaw reads a severity field's JSON string: the spellings
// alertstore and the old system write are matched without allocating,
// anything else goes to ParseSeverity.
func parseSeverityRaw(raw []byte) (Severity, error) {
	switch string(raw) {
	case `"Critical"`, `"critical"`:
		return SeverityCritical, nil
	case `"High"`, `"high"`:
		return SeverityHigh, nil
	case `"Medium"`, `"medium"`:
		return SeverityMedium, nil
	case `"Low"`, `"low"`:
		return SeverityLow, nil
	case `"Info"`, `"info"`:
		return SeverityInfo, nil
	}
	s, err := unquote(raw)
	if err != nil {
		return SeverityUnknown, err
	}
	return ParseSeverity(s)
}
