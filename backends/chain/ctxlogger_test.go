package chain_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/registry"
)

// A chain opened by DSN logs to the logger of the ctx it was opened with
// (registry.WithLogger), its records tagged backend=chain; nothing goes
// to slog.Default. Its backlog (left in bolt by an earlier process) is
// replayed by Replay, which logs its progress.
func TestChainLogsToCtxLogger(t *testing.T) {
	var def, mine bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	dir := t.TempDir()
	boltDSN := "bolt://" + filepath.ToSlash(filepath.Join(dir, "b.db"))
	b, err := registry.Open(context.Background(), boltDSN+"?prefix=l:")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a := backend.NewAlert()
		_ = a.SetEntity("h")
		if err := b.Store(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	_ = b.Close()

	ctx := registry.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&mine, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s, err := registry.Open(ctx, chain.FormatDSN("mem://", boltDSN)+"&prefix=l:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := chain.ReplayerOf(s)
	if err := c.Replay(ctx, nil); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if n, _ := s.Count(ctx); n != 3 {
		t.Fatalf("count %d after Replay, want 3", n)
	}
	_ = s.Close()
	if !strings.Contains(mine.String(), `msg="`+chain.ReplayProgressMessage+`"`) || !strings.Contains(mine.String(), "backend=chain") {
		t.Fatalf("the ctx's logger got:\n%s\nwant a %q record with backend=chain", mine.String(), chain.ReplayProgressMessage)
	}
	if strings.Contains(def.String(), "chain:") {
		t.Fatalf("slog.Default got chain records:\n%s", def.String())
	}
}
