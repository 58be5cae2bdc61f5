package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/registry"
)

// A chain whose replay dropped acknowledged alerts while a command ran
// makes the command say so on stderr; one that dropped none says nothing.
func TestReportDrops(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, primary, says string
	}{
		{"none-dropped", "mem://reportdrops1?max_alerts=100&prefix=drops:", ""},
		{"three-dropped", "mem://reportdrops2?max_alerts=5&prefix=drops:", "replay dropped 3 acknowledged alerts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			boltDSN := "bolt://" + filepath.Join(t.TempDir(), "b.db") + "?max_alerts=100&prefix=drops:"
			// A backlog of 8 in the local tier, then a chain whose first tier
			// holds 5: the 3 oldest cannot be replayed.
			b, err := registry.Open(ctx, boltDSN)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				a := backend.NewAlert()
				_ = a.SetEntity(fmt.Sprint("h", i))
				if err := b.Store(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			_ = b.Close()
			var errb bytes.Buffer
			env := &cliEnv{stderr: &errb}
			s, err := env.openStore(ctx, chain.FormatDSN(c.primary, boltDSN)+"&probe_interval=20ms")
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, _ := chain.StatusOf(s)
				if st.Backlog == 0 && !st.Replaying {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("backlog not replayed: %+v", st)
				}
				time.Sleep(10 * time.Millisecond)
			}
			_ = s.Close()
			reportDrops(env)
			if got := errb.String(); (c.says == "") != (got == "") || !strings.Contains(got, c.says) {
				t.Fatalf("stderr = %q, want %q", got, c.says)
			}
		})
	}
}
