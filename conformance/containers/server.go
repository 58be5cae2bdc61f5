package containers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Server is one running Redis or Valkey process (a data node or a sentinel)
// in its own container, listening on 127.0.0.1 with host networking.
//
// Its fault methods act on the container, not through the protocol, so they
// work whatever state the server is in. All of them keep the address: the
// port is on the command line, and host networking has no mapping to lose.
type Server struct {
	spec     ServerSpec
	cfg      serverConfig
	port     int
	tlsPort  int // 0 without WithTLS; port itself with WithTLSOnly
	addr     string
	tlsConf  *tls.Config // the helpers' TLS to a TLS-only server, else nil
	sentinel bool
	ctr      *testcontainers.DockerContainer
	docker   *testcontainers.DockerClient

	terminateOnce sync.Once
	terminateErr  error
}

// errPortInUse marks a start that lost the race for its port.
var errPortInUse = errors.New("port already in use")

// portAttempts is how often Start picks a new port after losing one.
const portAttempts = 3

// stopTimeout is how long a graceful Stop waits before Docker kills.
const stopTimeout = 10 * time.Second

// Ready lines the servers log once they accept connections; testcontainers
// waits for them, then Start checks with PING.
const (
	readyLogServer   = "Ready to accept connections"
	readyLogSentinel = "Sentinel ID is"
)

// Start starts a server of spec in a new container and waits until it
// answers PING. The caller must Terminate it. Tests should use
// [StartServer], which skips or fails the test as configured and cleans up.
//
// It never pulls: a missing image is an error wrapping [ErrImageNotFound],
// and an unreachable engine one wrapping [ErrDockerUnavailable].
func Start(ctx context.Context, spec ServerSpec, opts ...Option) (*Server, error) {
	return start(ctx, spec, newServerConfig(opts), false)
}

// StartServer is [Start] for tests: it registers t.Cleanup to terminate the
// server, and when Docker or the image is missing it skips the test, or
// fails it if ALERTSTORE_REQUIRE_DOCKER=1 (see [RequireDocker]). Any other
// error fails the test. testcontainers' messages go to t.Logf unless
// [WithLogf] says otherwise.
func StartServer(ctx context.Context, t testing.TB, spec ServerSpec, opts ...Option) *Server {
	t.Helper()
	SkipShort(t)
	opts = append([]Option{WithLogf(t.Logf)}, opts...)
	s, err := Start(ctx, spec, opts...)
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() { terminateInCleanup(t, s) })
	return s
}

// terminateInCleanup terminates s with a context of its own: the test's
// context may already be cancelled when cleanups run.
func terminateInCleanup(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Terminate(ctx); err != nil {
		t.Errorf("containers: terminate %s: %v", s, err)
	}
}

func start(ctx context.Context, spec ServerSpec, cfg serverConfig, sentinel bool) (*Server, error) {
	switch {
	case spec.Flavor != Redis && spec.Flavor != Valkey:
		return nil, fmt.Errorf("containers: %s: unknown flavor %q", spec.Name, spec.Flavor)
	case spec.Image == "":
		return nil, fmt.Errorf("containers: %s: no image", spec.Name)
	}
	cli, err := docker(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkReaper(ctx, cli); err != nil {
		return nil, err
	}
	img, err := checkImage(ctx, cli, spec)
	if err != nil {
		return nil, err
	}
	spec.Image = img
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		tlsPort := 0
		switch {
		case cfg.tlsOnly:
			tlsPort = port
		case cfg.tls != nil:
			if tlsPort, err = freePort(); err != nil {
				return nil, err
			}
		}
		s, err := launch(ctx, cli, spec, cfg, sentinel, port, tlsPort)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, err
		}
	}
}

// command is the server's command line. Everything a test depends on is
// set explicitly, so that the Debian-built and the official images, whose
// defaults differ (Debian's binary has no config file here; the official
// image's entrypoint passes the command through), behave the same.
func (s *Server) command() []string {
	bin := s.spec.Flavor.ServerBinary()
	if s.sentinel {
		return []string{bin, sentinelConfPath, "--sentinel"}
	}
	plainPort := strconv.Itoa(s.port)
	if s.cfg.tlsOnly {
		plainPort = "0"
	}
	cmd := []string{bin,
		"--port", plainPort,
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--save", "",
	}
	if s.cfg.aof {
		cmd = append(cmd, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		cmd = append(cmd, "--appendonly", "no")
	}
	if s.cfg.password != "" {
		cmd = append(cmd, "--requirepass", s.cfg.password, "--masterauth", s.cfg.password)
	}
	cmd = append(cmd, s.cfg.tlsArgs(s.tlsPort)...)
	return append(cmd, s.cfg.args...)
}

// sentinelConfPath is where a sentinel's config goes. Sentinel rewrites its
// config file (and renames a temp file over it), so it must be in a
// directory the server can write: /data is the working directory of both
// the Debian-built and the official images, and the official entrypoint
// hands it to the redis user.
const sentinelConfPath = "/data/sentinel.conf"

func launch(ctx context.Context, cli *testcontainers.DockerClient, spec ServerSpec, cfg serverConfig, sentinel bool, port, tlsPort int) (*Server, error) {
	tlsConf, err := cfg.clientTLS()
	if err != nil {
		return nil, err
	}
	s := &Server{
		tlsConf:  tlsConf,
		spec:     spec,
		cfg:      cfg,
		port:     port,
		tlsPort:  tlsPort,
		addr:     "127.0.0.1:" + strconv.Itoa(port),
		sentinel: sentinel,
		docker:   cli,
	}
	role := "server"
	readyLog := readyLogServer
	var files []testcontainers.ContainerFile
	if sentinel {
		role = "sentinel"
		readyLog = readyLogSentinel
		files = append(files, testcontainers.ContainerFile{
			Reader:            strings.NewReader(cfg.sentinelConf(port)),
			ContainerFilePath: sentinelConfPath,
			FileMode:          0o666,
		})
	}
	files = append(files, cfg.tlsFiles()...)
	logger := tclog.Logger(tclog.NewNoopLogger())
	if cfg.logf != nil {
		logger = logfLogger(cfg.logf)
	}
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: spec.Image,
			Cmd:   s.command(),
			Labels: map[string]string{
				LabelKey:             "true",
				LabelKey + ".server": spec.Name,
				LabelKey + ".role":   role,
				LabelKey + ".port":   strconv.Itoa(port),
			},
			Files: files,
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.NetworkMode = "host"
			},
			WaitingFor: wait.ForLog(readyLog).
				WithStartupTimeout(cfg.startupTimeout).
				WithPollInterval(100 * time.Millisecond),
		},
		Started: true,
		Logger:  logger,
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		s.ctr, _ = ctr.(*testcontainers.DockerContainer)
	}
	if err == nil {
		err = s.waitPing(ctx, cfg.startupTimeout)
	}
	if err != nil {
		logs := ""
		if s.ctr != nil {
			logs, _ = s.Logs(context.WithoutCancel(ctx))
			_ = s.Terminate(context.WithoutCancel(ctx))
		}
		if strings.Contains(logs, "Address already in use") {
			return nil, fmt.Errorf("containers: start %s on port %d: %w", spec.Name, port, errPortInUse)
		}
		return nil, fmt.Errorf("containers: start %s (%s) on port %d: %w%s", spec.Name, spec.Image, port, err, logTail(logs))
	}
	return s, nil
}

// logfLogger adapts a Printf-style function to testcontainers' logger.
type logfLogger func(format string, args ...any)

func (l logfLogger) Printf(format string, args ...any) { l(format, args...) }

// logTail formats the end of a container log for an error message.
func logTail(logs string) string {
	logs = strings.TrimSpace(logs)
	if logs == "" {
		return ""
	}
	lines := strings.Split(logs, "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "\ncontainer log (tail):\n" + strings.Join(lines, "\n")
}

// Addr is "127.0.0.1:port". It stays the same across Stop/Start and
// Kill/Start.
func (s *Server) Addr() string { return s.addr }

// Port is the TCP port of Addr.
func (s *Server) Port() int { return s.port }

// Spec is the matrix entry the server was started from.
func (s *Server) Spec() ServerSpec { return s.spec }

// Password is the password given with [WithPassword], or "".
func (s *Server) Password() string { return s.cfg.password }

// ContainerID identifies the container, for docker commands when debugging.
func (s *Server) ContainerID() string {
	if s.ctr == nil {
		return ""
	}
	return s.ctr.GetContainerID()
}

// String names the server in messages: "redis-8.0@127.0.0.1:40123".
func (s *Server) String() string {
	name := s.spec.Name
	if s.sentinel {
		name += "-sentinel"
	}
	return name + "@" + s.addr
}

// Do sends one command on a fresh connection (authenticating if the server
// has a password) and returns the reply: string, int64, []any or nil, with
// error replies as a [RedisError]. Without a deadline on ctx it gives up
// after 5s, so a paused server cannot hang the caller. For WAIT, which
// concerns the writes of its own connection, use [Server.Dial].
func (s *Server) Do(ctx context.Context, args ...string) (any, error) {
	return do(ctx, s.addr, s.cfg.password, s.tlsConf, args...)
}

// Dial opens a connection to the server, authenticated if the server has
// a password, for command sequences that need one connection (SET then
// WAIT). The caller closes it.
func (s *Server) Dial(ctx context.Context) (*Conn, error) {
	c, err := dial(ctx, s.addr, s.cfg.password, s.tlsConf)
	if err != nil {
		return nil, fmt.Errorf("containers: dial %s: %w", s, err)
	}
	return c, nil
}

// Ping sends PING and expects PONG.
func (s *Server) Ping(ctx context.Context) error {
	v, err := s.Do(ctx, "PING")
	if err != nil {
		return err
	}
	if v != "PONG" {
		return fmt.Errorf("containers: PING %s: got %v", s, v)
	}
	return nil
}

// waitPing polls PING until it succeeds, the container stops running, or
// timeout passes.
func (s *Server) waitPing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		last = s.Ping(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		if st, err := s.ctr.State(context.WithoutCancel(ctx)); err == nil && !st.Running {
			return fmt.Errorf("containers: %s exited (status %d) before answering PING", s, st.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("containers: %s did not answer PING within %s: %w", s, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the server gracefully (SIGTERM, SIGKILL after 10s), as an
// orderly shutdown or a planned restart would. Without AOF the data is gone
// when it starts again, since nothing is saved.
func (s *Server) Stop(ctx context.Context) error {
	d := stopTimeout
	if err := s.ctr.Stop(ctx, &d); err != nil {
		return fmt.Errorf("containers: stop %s: %w", s, err)
	}
	return nil
}

// Start starts a stopped or killed server again, on the same address, and
// waits until it answers PING.
func (s *Server) Start(ctx context.Context) error {
	if err := s.ctr.Start(ctx); err != nil {
		return fmt.Errorf("containers: start %s: %w", s, err)
	}
	return s.waitPing(ctx, s.cfg.startupTimeout)
}

// Restart is Stop then Start.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	return s.Start(ctx)
}

// Kill sends SIGKILL, as a crash or an OOM kill would: no shutdown, no
// final save. It returns once the container has stopped, so that a
// following Start cannot race the dying process.
func (s *Server) Kill(ctx context.Context) error {
	if _, err := s.docker.ContainerKill(ctx, s.ContainerID(), client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return fmt.Errorf("containers: kill %s: %w", s, err)
	}
	for {
		st, err := s.ctr.State(ctx)
		if err != nil {
			return fmt.Errorf("containers: kill %s: %w", s, err)
		}
		if !st.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("containers: kill %s: still running: %w", s, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Pause freezes the server's processes (cgroup freezer). Connections stay
// open and new ones are even accepted by the kernel, but nothing is
// answered: the fault of a server that hangs, not one that is down, which
// is what client timeouts are for.
//
// On a loaded machine the freezer may not settle in the time runc gives
// it: runc then thaws the container back and docker answers "unable to
// freeze". Nothing was paused, so Pause tries again, up to pauseAttempts
// times.
func (s *Server) Pause(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		_, err := s.docker.ContainerPause(ctx, s.ContainerID(), client.ContainerPauseOptions{})
		if err == nil {
			return nil
		}
		if attempt == pauseAttempts || !unableToFreeze(err) {
			return fmt.Errorf("containers: pause %s (attempt %d): %w", s, attempt, err)
		}
		if err := sleepCtx(ctx, pauseRetryPause); err != nil {
			return fmt.Errorf("containers: pause %s: %w", s, err)
		}
	}
}

const (
	pauseAttempts   = 5
	pauseRetryPause = 200 * time.Millisecond
)

// unableToFreeze reports runc's "unable to freeze": the cgroup freezer
// did not settle, and the container was thawed back (still running).
func unableToFreeze(err error) bool { return strings.Contains(err.Error(), "unable to freeze") }

// Unpause resumes a paused server; requests sent meanwhile are answered.
func (s *Server) Unpause(ctx context.Context) error {
	if _, err := s.docker.ContainerUnpause(ctx, s.ContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("containers: unpause %s: %w", s, err)
	}
	return nil
}

// Exec runs cmd inside the container and returns its combined stdout and
// stderr. A non-zero exit status is an error that includes the output.
func (s *Server) Exec(ctx context.Context, cmd ...string) (string, error) {
	code, r, err := s.ctr.Exec(ctx, cmd, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("containers: exec %q in %s: %w", cmd, s, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("containers: exec %q in %s: read output: %w", cmd, s, err)
	}
	if code != 0 {
		return string(out), fmt.Errorf("containers: exec %q in %s: exit status %d: %s", cmd, s, code, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// CLI runs the image's redis-cli or valkey-cli against this server, with
// its password if any, and returns the output without surrounding space.
// Note that the CLIs exit 0 on most error replies, printing them instead.
func (s *Server) CLI(ctx context.Context, args ...string) (string, error) {
	cmd := []string{s.spec.Flavor.CLIBinary(), "-h", "127.0.0.1", "-p", strconv.Itoa(s.port)}
	cmd = append(cmd, s.cfg.tlsCLIArgs()...)
	if s.cfg.password != "" {
		cmd = append(cmd, "-a", s.cfg.password, "--no-auth-warning")
	}
	out, err := s.Exec(ctx, append(cmd, args...)...)
	return strings.TrimSpace(out), err
}

// Logs returns the container's output so far (all runs of it).
func (s *Server) Logs(ctx context.Context) (string, error) {
	rc, err := s.ctr.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// Terminate removes the container. It is idempotent; a paused container is
// unpaused first so that removal does not wait for a stop timeout.
func (s *Server) Terminate(ctx context.Context) error {
	s.terminateOnce.Do(func() {
		if s.ctr == nil {
			return
		}
		if st, err := s.ctr.State(ctx); err == nil && st.Paused {
			_ = s.Unpause(ctx)
		}
		// No graceful stop: the container is going away, and a SIGTERM
		// wait per container would add up over a suite.
		s.terminateErr = s.ctr.Terminate(ctx, testcontainers.StopTimeout(0))
	})
	return s.terminateErr
}
