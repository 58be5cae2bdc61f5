package containers

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMatrixFromEnv(t *testing.T) {
	t.Setenv(EnvRedisImage, "example/redis:8")
	t.Setenv(EnvValkeyImage, "")
	all, err := matrixFromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Name != NameRedis7 || all[1].Image != "example/redis:8" || all[2].Image != DefaultValkeyImage {
		t.Fatalf("full matrix = %+v", all)
	}
	some, err := matrixFromEnv(" valkey-8.1 ,redis-7.0,valkey-8.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || some[0].Flavor != Valkey || some[1].Name != NameRedis7 {
		t.Fatalf("restricted matrix = %+v", some)
	}
	if _, err := matrixFromEnv("redis-7.0,redis-9"); err == nil || !strings.Contains(err.Error(), "redis-9") {
		t.Fatalf("unknown name: err = %v", err)
	}
}

func TestReadReply(t *testing.T) {
	in := "*4\r\n+OK\r\n:42\r\n$-1\r\n*2\r\n$3\r\nfoo\r\n-ERR bad\r\n"
	v, err := readReply(bufioReader(in))
	if err != nil {
		t.Fatal(err)
	}
	arr := v.([]any)
	if arr[0] != "OK" || arr[1] != int64(42) || arr[2] != nil {
		t.Fatalf("reply = %#v", v)
	}
	inner := arr[3].([]any)
	if inner[0] != "foo" || inner[1] != RedisError("ERR bad") {
		t.Fatalf("inner = %#v", inner)
	}
	if _, err := readReply(bufioReader("-WRONGTYPE x\r\n")); !errors.As(err, new(RedisError)) {
		t.Fatalf("error reply: err = %v", err)
	}
}

// testCtx bounds a test's container work, below go test's own timeout so
// that a hang reports where it was.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestServerFaults covers every fault method on every matrix server: the
// address survives Stop/Start and Kill/Start, a paused server times out,
// and an unpaused one answers again.
func TestServerFaults(t *testing.T) {
	for _, spec := range Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 3*time.Minute)
			s := StartServer(ctx, t, spec)

			if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.Port() == 0 {
				t.Fatalf("Addr = %q", s.Addr())
			}
			info, err := s.Do(ctx, "INFO", "server")
			if err != nil {
				t.Fatal(err)
			}
			ver, _ := infoField(info.(string), string(spec.Flavor)+"_version")
			t.Logf("%s runs %s %s at %s", s.Spec().Image, spec.Flavor, ver, s.Addr())
			if ver == "" {
				t.Errorf("INFO server has no %s_version: is %s a %s image?", spec.Flavor, spec.Image, spec.Flavor)
			}

			if out, err := s.CLI(ctx, "PING"); err != nil || out != "PONG" {
				t.Fatalf("CLI PING = %q, %v", out, err)
			}
			if _, err := s.Do(ctx, "SET", "k", "v"); err != nil {
				t.Fatal(err)
			}

			addr := s.Addr()
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(testCtx(t, time.Second)); err == nil {
				t.Fatal("PING answered by a stopped server")
			}
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if s.Addr() != addr {
				t.Fatalf("address changed over Stop/Start: %s -> %s", addr, s.Addr())
			}
			if v, err := s.Do(ctx, "GET", "k"); err != nil || v != nil {
				t.Fatalf("GET k after restart without persistence = %v, %v; want nil", v, err)
			}

			if err := s.Pause(ctx); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = s.Ping(testCtx(t, 500*time.Millisecond))
			if err == nil {
				t.Fatal("PING answered by a paused server")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("PING of a paused server: %v; want a timeout", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("PING of a paused server took %s to time out", d)
			}
			if err := s.Unpause(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("PING after Unpause: %v", err)
			}

			if err := s.Kill(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(testCtx(t, time.Second)); err == nil {
				t.Fatal("PING answered by a killed server")
			}
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil || s.Addr() != addr {
				t.Fatalf("after Kill/Start: PING %v, addr %s (was %s)", err, s.Addr(), addr)
			}
		})
	}
}

// TestServerAOFSurvivesKill checks WithAOF: an acknowledged write is on
// disk before the reply, so SIGKILL does not lose it.
func TestServerAOFSurvivesKill(t *testing.T) {
	for _, spec := range Matrix() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 2*time.Minute)
			s := StartServer(ctx, t, spec, WithAOF(), WithPassword("s3cret"), WithArgs("--maxmemory", "64mb"))

			if _, err := do(ctx, s.Addr(), "", nil, "PING"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
				t.Fatalf("PING without AUTH: err = %v; want NOAUTH", err)
			}
			if v, err := s.Do(ctx, "CONFIG", "GET", "maxmemory"); err != nil || v.([]any)[1] != "67108864" {
				t.Fatalf("CONFIG GET maxmemory = %v, %v", v, err)
			}
			if _, err := s.Do(ctx, "SET", "durable", "yes"); err != nil {
				t.Fatal(err)
			}
			if err := s.Kill(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Do(ctx, "GET", "durable"); err != nil || v != "yes" {
				t.Fatalf("GET durable after Kill/Start with AOF = %v, %v; want yes", v, err)
			}
		})
	}
}

func TestMissingImage(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	spec := ServerSpec{Name: NameRedis8, Flavor: Redis, Image: "alertstore-offline/no-such-image:0"}
	_, err := Start(ctx, spec)
	if errors.Is(err, ErrDockerUnavailable) {
		SkipOrFail(t, err)
	}
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("err = %v; want ErrImageNotFound", err)
	}
	for _, want := range []string{spec.Image, "build-images.sh", EnvRedisImage} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// TestOfflineAlternative pins when the helpers may run the offline-built
// image instead of the one a spec names: only for an entry's official
// default, and only when no variable chose the image.
func TestOfflineAlternative(t *testing.T) {
	tests := []struct {
		name string
		env  string
		spec ServerSpec
		want string
	}{
		{"default, variable unset", "", ServerSpec{Name: NameRedis8, Flavor: Redis, Image: DefaultRedisImage}, OfflineRedisImage},
		{"valkey default", "", ServerSpec{Name: NameValkey, Flavor: Valkey, Image: DefaultValkeyImage}, OfflineValkeyImage},
		{"variable set to the default", DefaultRedisImage, ServerSpec{Name: NameRedis8, Flavor: Redis, Image: DefaultRedisImage}, ""},
		{"image chosen by hand", "", ServerSpec{Name: NameRedis8, Flavor: Redis, Image: "example/redis:8"}, ""},
		{"spec outside the matrix", "", ServerSpec{Name: "custom", Flavor: Redis, Image: DefaultRedisImage}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvRedisImage, tt.env)
			t.Setenv(EnvValkeyImage, "")
			got, ok := offlineAlternative(tt.spec)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("offlineAlternative(%+v) = %q, %v; want %q", tt.spec, got, ok, tt.want)
			}
		})
	}
}
