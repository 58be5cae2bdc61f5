package chain

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/registry"
)

// shared holds the parameters that exist both on the chain and on its
// tiers (prefix, max_alerts, max_alert_bytes), each with whether it was
// set explicitly: the cap rule needs to tell "1000 because you said so"
// from "1000 because nobody said anything".
type shared struct {
	prefix        string
	maxAlerts     int
	maxAlertBytes int
}

// explicitShared returns the shared parameters a tier DSN sets itself,
// zero for those it leaves unset, and whether it sets timeout. It does no
// I/O; a malformed value is the tier's error, reported now.
func explicitShared(dsn string) (shared, bool, error) {
	d, err := registry.ParseDSN(dsn)
	if err != nil {
		return shared{}, false, err
	}
	cfg, err := d.Common()
	if err != nil {
		return shared{}, false, err
	}
	var s shared
	if d.Has("prefix") {
		s.prefix = cfg.Prefix
	}
	if d.Has("max_alerts") {
		s.maxAlerts = cfg.MaxAlerts
	}
	if d.Has("max_alert_bytes") {
		s.maxAlertBytes = cfg.MaxAlertBytes
	}
	return s, d.Has("timeout"), nil
}

// tierLabel names tier i (0-based) for a configuration error: its number
// from 1, as in the DSN, and its scheme or name; never its DSN.
func tierLabel(i int, t Tier) string {
	if t.DSN != "" {
		if d, err := registry.ParseDSN(t.DSN); err == nil {
			return fmt.Sprintf("tier %d (%s)", i+1, d.Scheme())
		}
	}
	if t.Name != "" {
		return fmt.Sprintf("tier %d (%s)", i+1, t.Name)
	}
	return fmt.Sprintf("tier %d", i+1)
}

// reportedPrefix is the one prefix a tier's driver reports writing under
// (backend.Namespacer), "" when it reports none or several: a driver
// given in code says where it writes even when Tier.Config leaves it out.
func reportedPrefix(d backend.Driver) string {
	n, ok := d.(backend.Namespacer)
	if !ok {
		return ""
	}
	p := ""
	for _, ns := range n.Namespaces() {
		if p != "" && ns.Prefix != p {
			return ""
		}
		p = ns.Prefix
	}
	return p
}

// resolved is the outcome of the rule: the chain's effective values and
// each tier's DSN with what it inherits, and each tier's cap.
type resolved struct {
	eff   shared   // the chain's effective values, every field set
	dsns  []string // tier DSNs with inherited parameters ("" for a Driver tier)
	tcaps []int    // each tier's max_alerts
}

// resolveShared applies the one rule for the parameters that exist both on
// the chain (o: zero means not set) and on its tiers (their DSNs, or
// Tier.Config for a Driver tier):
//
//   - set on both with different values: refused, naming the parameter,
//     both values and the tier;
//   - the chain's effective value is its own if set, else follows from the
//     tiers: prefix and max_alerts are the first tier's, max_alert_bytes
//     the smallest any tier sets (so that whatever the chain accepts fits
//     every tier); else the default;
//   - a tier that does not set it inherits the chain's effective value;
//   - a lower tier's max_alerts may not be below the first tier's: it would
//     trim an outage's backlog before the backlog could be replayed.
//
// A tier's timeout is not one of them: see inheritTimeout.
func resolveShared(o Options, tiers []Tier) (resolved, error) {
	chainSet := shared{prefix: o.Prefix, maxAlerts: o.MaxAlerts, maxAlertBytes: o.MaxAlertBytes}
	own := make([]shared, len(tiers))
	for i, t := range tiers {
		if t.DSN == "" {
			own[i] = shared{prefix: t.Config.Prefix, maxAlerts: t.Config.MaxAlerts, maxAlertBytes: t.Config.MaxAlertBytes}
			if own[i].prefix == "" {
				own[i].prefix = reportedPrefix(t.Driver)
			}
			continue
		}
		s, _, err := explicitShared(t.DSN)
		if err != nil {
			return resolved{}, fmt.Errorf("%w: chain: %s: %s", backend.ErrInvalidConfig, tierLabel(i, t), trimSentinel(err))
		}
		own[i] = s
	}
	conflict := func(param string, i int, chainV, tierV any) error {
		return fmt.Errorf("%w: chain: %s=%v on the chain but %s=%v on %s: set it on the chain only (every tier inherits it), or to the same value",
			backend.ErrInvalidConfig, param, chainV, param, tierV, tierLabel(i, tiers[i]))
	}
	for i, s := range own {
		switch {
		case chainSet.prefix != "" && s.prefix != "" && s.prefix != chainSet.prefix:
			return resolved{}, conflict("prefix", i, chainSet.prefix, s.prefix)
		case chainSet.maxAlerts > 0 && s.maxAlerts > 0 && s.maxAlerts != chainSet.maxAlerts:
			return resolved{}, conflict("max_alerts", i, chainSet.maxAlerts, s.maxAlerts)
		case chainSet.maxAlertBytes > 0 && s.maxAlertBytes > 0 && s.maxAlertBytes != chainSet.maxAlertBytes:
			return resolved{}, conflict("max_alert_bytes", i, chainSet.maxAlertBytes, s.maxAlertBytes)
		}
	}
	eff := chainSet
	if eff.prefix == "" {
		eff.prefix = own[0].prefix
	}
	if eff.prefix == "" {
		eff.prefix = backend.DefaultPrefix
	}
	if eff.maxAlerts == 0 {
		eff.maxAlerts = own[0].maxAlerts
	}
	if eff.maxAlerts == 0 {
		eff.maxAlerts = backend.DefaultMaxAlerts
	}
	if eff.maxAlertBytes == 0 {
		for _, s := range own {
			if s.maxAlertBytes > 0 && (eff.maxAlertBytes == 0 || s.maxAlertBytes < eff.maxAlertBytes) {
				eff.maxAlertBytes = s.maxAlertBytes
			}
		}
	}
	if eff.maxAlertBytes == 0 {
		eff.maxAlertBytes = backend.DefaultMaxAlertBytes
	}
	r := resolved{eff: eff, dsns: make([]string, len(tiers)), tcaps: make([]int, len(tiers))}
	for i, s := range own {
		r.tcaps[i] = eff.maxAlerts
		if s.maxAlerts > 0 {
			r.tcaps[i] = s.maxAlerts
		}
		if i > 0 && r.tcaps[i] < r.tcaps[0] {
			return resolved{}, fmt.Errorf("%w: chain: max_alerts=%d on %s is below the first tier's %d: an outage of more than %d alerts would be trimmed there before it could be replayed",
				backend.ErrInvalidConfig, r.tcaps[i], tierLabel(i, tiers[i]), r.tcaps[0], r.tcaps[i])
		}
		if tiers[i].DSN != "" {
			r.dsns[i] = inheritShared(tiers[i].DSN, eff)
		}
	}
	return r, nil
}

// inheritShared adds to a tier DSN the chain's effective shared parameters
// it does not set. It edits the query only, leaving the rest as written
// (url.URL.String would turn "mem://" into "mem:").
func inheritShared(tierDSN string, eff shared) string {
	add := map[string]string{}
	for k, vs := range registry.ConfigParams(backend.Config{
		Prefix: eff.prefix, MaxAlerts: eff.maxAlerts, MaxAlertBytes: eff.maxAlertBytes,
	}) {
		add[k] = vs[0]
	}
	return editQuery(tierDSN, add)
}

// inheritTimeout gives a tier DSN that sets no timeout of its own the
// chain's tier_timeout. The chain's timeout is another parameter: it
// bounds a whole call across tiers, so a tier never inherits it.
func inheritTimeout(tierDSN string, tierTimeout string) string {
	return editQuery(tierDSN, map[string]string{"timeout": tierTimeout})
}

// editQuery sets the parameters the DSN does not have.
func editQuery(dsn string, add map[string]string) string {
	base, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return dsn // the tier's opener reports it
	}
	for k, v := range add {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	return base + "?" + q.Encode()
}

func trimSentinel(err error) string {
	return strings.TrimPrefix(err.Error(), backend.ErrInvalidConfig.Error()+": ")
}

// EffectiveConfig returns base (the configuration the chain's own DSN was
// opened with) with the shared parameters the chain resolved from its
// tiers: the Store in front of the chain must check alerts against those
// (max_alert_bytes: the smallest of its tiers'). registry.Open applies it.
func (c *Chain) EffectiveConfig(base backend.Config) backend.Config {
	base.Prefix = c.eff.prefix
	base.MaxAlerts = c.eff.maxAlerts
	base.MaxAlertBytes = c.eff.maxAlertBytes
	return base
}
