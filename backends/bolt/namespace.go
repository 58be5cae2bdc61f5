package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/apt-detection/alertstore/backend"
)

// The namespace's record (backend.NamespaceKeeper), in the meta bucket
// beside the counters.
const (
	metaCap   = "\x00cap"   // the recorded cap, uint64
	metaAudit = "\x00audit" // JSON array of backend.AuditRecord, oldest first
)

var _ backend.NamespaceKeeper = (*driver)(nil)

// capFor applies the recorded cap inside an append's transaction: the
// first append records the writer's cap, later ones trim to
// backend.CheckCap's answer.
func capFor(m *bbolt.Bucket, ns *namespace) (int, error) {
	recorded := readUint(m, ns.prefix+metaCap)
	if recorded == 0 {
		recorded = uint64(ns.maxAlerts)
		if err := m.Put([]byte(ns.prefix+metaCap), key(recorded)); err != nil {
			return 0, err
		}
	}
	return backend.CheckCap(ns.cfg, int(recorded))
}

func readUint(m *bbolt.Bucket, k string) uint64 {
	v := m.Get([]byte(k))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func readAudit(m *bbolt.Bucket, prefix string) []backend.AuditRecord {
	var out []backend.AuditRecord
	if v := m.Get([]byte(prefix + metaAudit)); v != nil {
		_ = json.Unmarshal(v, &out) // a damaged record is dropped, not fatal
	}
	return out
}

// addAudit appends a record, keeping the newest backend.AuditKeep.
func addAudit(m *bbolt.Bucket, prefix string, r backend.AuditRecord) error {
	r.Time = time.Now().UTC()
	recs := append(readAudit(m, prefix), r)
	if len(recs) > backend.AuditKeep {
		recs = recs[len(recs)-backend.AuditKeep:]
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return m.Put([]byte(prefix+metaAudit), b)
}

// NamespaceInfo implements backend.NamespaceKeeper. Appended is -1: only
// alertstore writes a bolt file, through this driver, which keeps its
// own cap; nothing else trims it.
func (d *driver) NamespaceInfo(ctx context.Context) (backend.NamespaceInfo, error) {
	info := backend.NamespaceInfo{Appended: -1}
	err := d.view(ctx, func(tx *bbolt.Tx) error {
		m := tx.Bucket(metaBucket)
		_, count, _ := readMeta(m, d.ns.prefix)
		info.Cap, info.Len = int(readUint(m, d.ns.prefix+metaCap)), int64(count)
		recs := readAudit(m, d.ns.prefix)
		for i := len(recs) - 1; i >= 0; i-- {
			info.Audit = append(info.Audit, recs[i])
		}
		return nil
	})
	return info, err
}

// SetCap implements backend.NamespaceKeeper, in one committed transaction.
func (d *driver) SetCap(ctx context.Context, n int) error {
	if err := backend.CheckCapValue(n); err != nil {
		return err
	}
	return d.update(ctx, func(tx *bbolt.Tx) error {
		m := tx.Bucket(metaBucket)
		_, count, _ := readMeta(m, d.ns.prefix)
		old := readUint(m, d.ns.prefix+metaCap)
		if err := m.Put([]byte(d.ns.prefix+metaCap), key(uint64(n))); err != nil {
			return err
		}
		return addAudit(m, d.ns.prefix, backend.AuditRecord{Op: backend.AuditSetCap, Client: backend.ClientNameOf(d.ns.cfg), Entries: int64(count), Cap: n, OldCap: int(old)})
	})
}
