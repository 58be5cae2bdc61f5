package cluster_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/servertest/redistest"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// aclRules are the ACL SETUSER rules docs/dsn.md gives for a cluster
// namespace with prefix p (after the user name and password): the keys
// and the tagged keys, the commands of the Redis section, and what the
// cluster clients add. The test runs every operation as that user.
func aclRules(p string) []string {
	return []string{"~" + p + "*", "~{" + p + "*", "&{" + p + "*",
		"+@list", "+@string", "+@pubsub", "+@scripting", "+@transaction", "+@connection", "+del",
		"+role", "+cluster|slots", "+cluster|shards"}
}

// TestACLUser runs a store, a list, a watch, a clear and min_replicas as
// the ACL user of docs/dsn.md, created on every node (ACL commands are not
// replicated or propagated over the cluster bus).
func TestACLUser(t *testing.T) {
	forEach(t, func(t *testing.T, spec containers.ServerSpec, scheme string) {
		ctx := testCtx(t, time.Minute)
		c := shared(t, spec)
		prefix := redistest.Prefix(t)
		user := "acl-" + strings.NewReplacer(":", "-", "_", "-", "/", "-", "+", "-").Replace(strings.TrimSuffix(prefix, ":"))
		for _, n := range c.Nodes() {
			args := append([]string{"ACL", "SETUSER", user, "reset", "on", ">acl-secret"}, aclRules(prefix)...)
			if _, err := n.Do(ctx, args...); err != nil {
				t.Fatal(err)
			}
		}
		s := redistest.Open(t, strings.Replace(clusterDSN(scheme, c, "min_replicas=1&prefix="+url.QueryEscape(prefix)), "://", "://"+user+":acl-secret@", 1))
		sub, err := s.Watch(ctx)
		if err != nil {
			t.Fatalf("watch as %s: %v", user, err)
		}
		defer func() { _ = sub.Close() }()
		if err := s.Store(ctx, newAlert(t, "as-acl-user")); err != nil {
			t.Fatalf("store as %s: %v", user, err)
		}
		if a, err := sub.Next(ctx); err != nil || a.Entity() != "as-acl-user" {
			t.Fatalf("watch Next = %v, %v", a, err)
		}
		if n, err := s.Count(ctx); err != nil || n != 1 {
			t.Fatalf("count = %d, %v", n, err)
		}
		if _, err := s.List(ctx, backend.Query{Limit: 5}); err != nil {
			t.Fatal(err)
		}
		if err := s.Clear(ctx); err != nil {
			t.Fatalf("clear as %s: %v", user, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
