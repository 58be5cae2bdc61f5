// Command alertstore stores, lists and checks APT detection alerts in any
// registered backend, chosen by DSN.
//
//	alertstore demo                         store and print sample alerts (embedded store)
//	alertstore put --entity host1 --severity high --message "..."
//	alertstore put '{"entity": "host1", "severity": "High", ...}'
//	producer | alertstore put -             NDJSON from stdin, stored as it arrives
//	                [--batch 100] [--flush 200ms] [--reject-file F] [--atomic]
//	alertstore watch [filters as list] [-o table|ndjson|csv] [--since-id ID]   follow new alerts
//	alertstore list [--limit N] [--severity high,critical] [--min-severity medium]
//	                [--entity E] [--source kafka] [--since 7d] [--until 2026-11-01]
//	                [-o table|json|ndjson|csv]
//	alertstore count | ping | status | backends [-o table|json|ndjson|csv]
//	alertstore clear --yes | cap [set N --yes] | selftest | version
//	alertstore doctor [--dsn DSN]           OK/WARN/FAIL per safety check, with fixes
//	alertstore replay [--dsn DSN] [--timeout D]   drain a chain's backlog now, with progress
//	alertstore help [command] | completion bash|zsh|fish|powershell
//
// The command line is github.com/spf13/cobra (root.go). The flags every
// command takes go anywhere on the line: --dsn, --log-level
// off|debug|info|warn|error (default off), --log-format text|json,
// --replay-budget D (with a chain: how long it replays the backlog before it
// exits; default $ALERTSTORE_REPLAY_BUDGET, else 3s), --utc (default) or
// --local (the zone of displayed times and of dates given to --since and
// --until), --color auto|always|never (auto: on a terminal, unless
// $NO_COLOR). Every line the command writes about itself on stderr starts
// with "alertstore <command>: "; an error is followed by a "hint:" line
// that fits it (hint.go). The output formats are documented in
// docs/operations.md, "Output formats".
//
// The DSN comes from --dsn, else $ALERTSTORE_DSN, else the embedded default
// store (see `alertstore help`). Exit codes, for scripts:
//
//	0  success
//	1  the operation failed (or a selftest check failed)
//	2  usage or configuration error (bad flag, bad DSN, clear without --yes)
//	3  the backend is unavailable (down, frozen, timed out)
//	4  invalid alert input: put - (streaming) rejected the lines stderr names
//	   and stored the others; otherwise nothing was stored, except that
//	   put --atomic --skip-invalid - stored the valid lines, and a write refused part-way (an alert over the
//	   server's cap) stored the lines stderr names ("lines 3 to 502 were stored")
//	5  a security check failed: a TLS certificate that does not verify, or
//	   credentials or rights the server refused (not an outage)
//	6  status: a chain is degraded (its first tier does not answer)
//	7  replay: a chain's backlog is left (first tier down, or --timeout)
package main
