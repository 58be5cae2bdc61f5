package redislist

import (
	"fmt"
	"strings"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/hashslot"
)

// # Cluster layout
//
// In a Redis or Valkey Cluster every key of a MULTI/EXEC or a script must
// be in one hash slot. The list keeps its old name, P + "alerts", so that
// `redis-cli -c llen apt_detection:alerts` and the old dashboard keep
// working against the cluster; every other key of the namespace carries
// the list's full name as its hash tag:
//
//	P + "alerts"              the list (its whole name is hashed)
//	"{" + P + "alerts}:seq"   the counter: the tag hashes P + "alerts", the list's slot
//	"{" + P + "alerts}:events"  the sharded pub/sub channel (SPUBLISH/SSUBSCRIBE)
//	"{" + P + "alerts}:cap", ":base", ":audit"
//
// So the append stays one MULTI/EXEC on the master of one slot, and the
// scripts keep their atomic view. The events channel is a shard channel:
// a plain PUBLISH in a cluster is broadcast over the cluster bus to every
// node, SPUBLISH stays within the slot's shard (Redis and Valkey 7.0 and
// later). The cluster clients send it right after the transaction, not
// in it: Valkey 8.1 runs a transaction that holds SPUBLISH on a slot's
// importing node even when some of its keys are still on the source,
// instead of answering TRYAGAIN, which forks the namespace's keys during
// a migration (servertest/cluster's migration test catches it). A
// wake-up lost between the two costs a watcher one poll interval.

// ClusterKeys names the keys of prefix in a cluster: the list as NewKeys
// names it, every other key with the list's name as hash tag.
func ClusterKeys(prefix string) Keys {
	list := prefix + "alerts"
	tag := "{" + list + "}"
	return Keys{
		List: list, Seq: tag + ":seq", Events: tag + ":events",
		Cap: tag + ":cap", Base: tag + ":base", Audit: tag + ":audit",
	}
}

// CheckClusterPrefix refuses a prefix whose list name would not hash as a
// whole: a '{' or '}' in it would make part of it a hash tag, and the
// other keys (which hash the full name) could land in another slot.
func CheckClusterPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("%w: prefix %q holds '{' or '}', which a cluster reads as a hash tag; the layout needs the list's whole name hashed", backend.ErrInvalidConfig, prefix)
	}
	return nil
}

// Slot is the cluster hash slot of every key of k (ClusterKeys puts them
// all in one).
func (k Keys) Slot() int { return hashslot.Of(k.List) }

// NewCluster is New with the cluster layout (ClusterKeys). The Client
// must run the append's notification as SPUBLISH and Subscribe as
// SSUBSCRIBE: a cluster's plain pub/sub reaches every node.
func NewCluster(c Client, cfg backend.Config, opts *Options) *Driver {
	d := New(c, cfg, opts)
	d.k = ClusterKeys(d.cfg.Prefix)
	return d
}
