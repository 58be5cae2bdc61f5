package redislist

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// The namespace's record (backend.NamespaceKeeper) lives in plain string
// and list keys beside the list (see Keys), so that the ACL the layout
// already needs (+@list +@string +@scripting) covers it, and an old
// reader that only knows the list is not disturbed.

// CapInitScript records ARGV[1] as the cap unless one is recorded, and
// returns the recorded one. KEYS: cap. GET and SET, not SETNX: the
// writer role grants those (TestScriptsStayInTheirRole).
const CapInitScript = `
local c = redis.call('GET', KEYS[1])
if not c then
  redis.call('SET', KEYS[1], ARGV[1])
  c = ARGV[1]
end
return {c}
`

// ClearScript deletes the list, keeps the counter (raised to the list
// length if a legacy writer left it behind, so that positions never go
// backwards), records the counter as the base of the trim check, and
// appends the audit record ARGV[1] completed with the entry count.
// KEYS: list, seq, base, audit. ARGV: record head (a JSON object without
// its closing brace), records to keep. Reply: {entries}.
const ClearScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then
  seq = n
  redis.call('SET', KEYS[2], string.format('%d', seq))
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], string.format('%d', seq))
redis.call('RPUSH', KEYS[4], ARGV[1] .. ',"entries":' .. string.format('%d', n) .. '}')
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[2]), -1)
return {string.format('%d', n)}
`

// SetCapScript records the cap ARGV[1] and appends the audit record
// ARGV[2] completed with the old cap and the entry count. KEYS: cap,
// list, audit. ARGV: cap, record head, records to keep. Reply: {old cap}.
const SetCapScript = `
local old = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
redis.call('SET', KEYS[1], ARGV[1])
local n = redis.call('LLEN', KEYS[2])
redis.call('RPUSH', KEYS[3], ARGV[2] .. ',"old_cap":' .. string.format('%d', old) .. ',"entries":' .. string.format('%d', n) .. '}')
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
return {string.format('%d', old)}
`

// InfoScript reads the record in one atomic step, with GET, not MGET:
// the writer and reader roles (acl.go) grant GET only. KEYS: list, seq, cap,
// base, audit. ARGV: records to return. Reply: {len, effective counter,
// cap or ”, base or ”, records newest first...}.
const InfoScript = `
local n = redis.call('LLEN', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if seq < n then seq = n end
local c = redis.call('GET', KEYS[3])
local b = redis.call('GET', KEYS[4])
local out = {string.format('%d', n), string.format('%d', seq), c or '', b or ''}
local recs = redis.call('LRANGE', KEYS[5], -tonumber(ARGV[1]), -1)
for i = #recs, 1, -1 do out[#out + 1] = recs[i] end
return out
`

var _ backend.NamespaceKeeper = (*Driver)(nil)

// trimCap is the cap an append trims to: the recorded one (recording this
// writer's at the namespace's first append), or the writer's explicit
// cap, or a *backend.CapError. A refusal is never cached: the next
// append reads the record again, so that a deliberate SetCap lets the
// writer in.
func (d *Driver) trimCap(ctx context.Context) (int, error) {
	rec := d.recorded.Load()
	if rec == 0 || (!d.cfg.MaxAlertsDefault && int64(d.max) < rec) {
		v, err := d.c.Eval(ctx, CapInitScript, []string{d.k.Cap}, []string{strconv.Itoa(d.max)})
		if err != nil {
			return 0, err
		}
		if rec, err = atoi(v, 0); err != nil || rec <= 0 || rec > backend.MaxMaxAlerts {
			return 0, fmt.Errorf("%w: the recorded cap in %s is %q, not a number in [1, %d]; fix it with alertstore cap set", backend.ErrInvalidConfig, d.k.Cap, first(v), backend.MaxMaxAlerts)
		}
		d.recorded.Store(rec)
	}
	return backend.CheckCap(d.cfg, int(rec))
}

// Clear implements backend.Driver: it deletes the list, keeps the counter
// (positions, and cursors, never go backwards) and leaves an audit record.
func (d *Driver) Clear(ctx context.Context) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	head, err := auditHead(backend.AuditRecord{Op: backend.AuditClear, Client: backend.ClientNameOf(d.cfg)})
	if err != nil {
		return err
	}
	// Run once, never retried: a second run would add a second record.
	_, err = d.c.Eval(ctx, ClearScript, []string{d.k.List, d.k.Seq, d.k.Base, d.k.Audit}, []string{head, strconv.Itoa(backend.AuditKeep)})
	return err
}

// SetCap implements backend.NamespaceKeeper.
func (d *Driver) SetCap(ctx context.Context, n int) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	if err := backend.CheckCapValue(n); err != nil {
		return err
	}
	head, err := auditHead(backend.AuditRecord{Op: backend.AuditSetCap, Client: backend.ClientNameOf(d.cfg), Cap: n})
	if err != nil {
		return err
	}
	_, err = d.c.Eval(ctx, SetCapScript, []string{d.k.Cap, d.k.List, d.k.Audit}, []string{strconv.Itoa(n), head, strconv.Itoa(backend.AuditKeep)})
	if err == nil {
		d.recorded.Store(int64(n))
	}
	return err
}

// NamespaceInfo implements backend.NamespaceKeeper. Appended counts what
// went through the position counter since the last Clear: alertstore's
// appends, and entries other tools pushed while the counter was behind
// the list (see RepairScript; pushes while it is ahead are not counted),
// so NamespaceInfo.Missing reports what another tool's LTRIM or DEL
// removed below the recorded cap, erring low, never high.
func (d *Driver) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	var info backend.NamespaceInfo
	if err := d.check(ctx); err != nil {
		return info, err
	}
	var v []string
	err := d.read(ctx, func() (err error) {
		v, err = d.c.EvalRO(ctx, InfoScript, []string{d.k.List, d.k.Seq, d.k.Cap, d.k.Base, d.k.Audit}, []string{strconv.Itoa(backend.AuditKeep)})
		return err
	})
	if err != nil {
		return info, err
	}
	if len(v) < 4 {
		return info, fmt.Errorf("redislist: namespace info reply of %d elements", len(v))
	}
	seq, err1 := atoi(v, 1)
	info.Len, err = atoi(v, 0)
	if err != nil || err1 != nil {
		return info, fmt.Errorf("redislist: namespace info reply %q", v[:2])
	}
	c, _ := strconv.ParseInt(v[2], 10, 64) // '' or junk: no cap recorded
	base, _ := strconv.ParseInt(v[3], 10, 64)
	info.Cap = int(c)
	info.Appended = max(seq-base, 0)
	for _, raw := range v[4:] {
		var r backend.AuditRecord
		if json.Unmarshal([]byte(raw), &r) == nil {
			info.Audit = append(info.Audit, r)
		}
	}
	return info, nil
}

// auditHead is r as a JSON object without its closing brace (and without
// the counts, which the script adds).
func auditHead(r backend.AuditRecord) (string, error) {
	r.Time = time.Now().UTC()
	b, err := json.Marshal(struct {
		Time   time.Time `json:"time"`
		Op     string    `json:"op"`
		Client string    `json:"client"`
		Cap    int       `json:"cap,omitempty"`
	}{r.Time, r.Op, r.Client, r.Cap})
	if err != nil {
		return "", err
	}
	return string(b[:len(b)-1]), nil
}

func atoi(v []string, i int) (int64, error) {
	if i >= len(v) {
		return 0, fmt.Errorf("reply has %d elements", len(v))
	}
	return strconv.ParseInt(v[i], 10, 64)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
