package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// A DSN with tls_insecure_skip_verify=true warns on stderr at every open
// and status lists the warning, also when the server is down, and also
// for a chain tier; a verified DSN warns about nothing.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: the warning must not need a server
	insecure := "rediss://:hunter2@" + addr + "/0?tls_insecure_skip_verify=true&dial_timeout=200ms&timeout=1s"
	chainDSN := "chain://?tier=" + strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(insecure, "&", "%26"), "?", "%3F"), "=", "%3D") + "&tier=mem%3A%2F%2Fwarn"
	for _, tt := range []struct {
		name   string
		args   []string
		warns  bool
		status bool
	}{
		{"StatusInsecure", []string{"status", "--dsn", insecure}, true, true},
		{"CountInsecure", []string{"count", "--dsn", insecure}, true, false},
		{"StatusChainTierInsecure", []string{"status", "--dsn", chainDSN}, true, true},
		{"StatusVerified", []string{"status", "--dsn", "rediss://" + addr + "/0?dial_timeout=200ms&timeout=1s"}, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, out, errOut := runCLI(t, "", tt.args...)
			warned := strings.Contains(errOut, "alertstore "+tt.args[0]+": warning: tls_insecure_skip_verify=true")
			listed := strings.Contains(out, "security:     WARNING") && strings.Contains(out, "tls_insecure_skip_verify")
			if warned != tt.warns {
				t.Errorf("stderr warned = %t, want %t\nstderr: %s", warned, tt.warns, errOut)
			}
			if tt.status && listed != tt.warns {
				t.Errorf("status listed the warning = %t, want %t\nstdout: %s", listed, tt.warns, out)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Error("the output shows the password")
			}
		})
	}
}

// A security failure has its own exit code and message, distinct from an
// unavailable backend, even when the error also says the server is far.
func TestReportSecurity(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"Security", fmt.Errorf("%w: TLS: x509: certificate signed by unknown authority", backend.ErrSecurity), exitSecurity, "SECURITY"},
		{"SecurityInStoreError", &backend.Error{Op: "list", Backend: "goredis", Err: fmt.Errorf("%w: server replied: NOPERM", backend.ErrSecurity)}, exitSecurity, "lacks a right"},
		{"Unavailable", fmt.Errorf("%w: connection refused", backend.ErrUnavailable), exitUnavailable, "is the server running"},
		{"Plain", errors.New("boom"), exitFailed, "boom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			env := &cliEnv{stderr: &buf, name: "list"}
			if code := report(env, tt.err); code != tt.code || !strings.Contains(buf.String(), tt.msg) {
				t.Errorf("report = %d, %q; want %d containing %q", code, buf.String(), tt.code, tt.msg)
			}
		})
	}
}

// doctor prints one verdict per line and exits 1 when any is FAIL.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.db")
	if err := os.WriteFile(open, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"Memory", []string{"doctor", "--dsn", "mem://doc"}, exitOK, "WARN  memory:"},
		{"OpenFile", []string{"doctor", "--dsn", "bolt://" + open}, exitFailed, "FAIL  file:"},
		{"StrayArgument", []string{"doctor", "redis://elsewhere"}, exitUsage, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Errorf("alertstore %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout containing %q", tt.args, code, out, errOut, tt.code, tt.out)
			}
		})
	}
}
