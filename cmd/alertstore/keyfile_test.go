package main

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sign_key_file that group or others can read warns on stderr at every
// open, and status lists the warning; a file only its owner reads warns
// about nothing. The secret is never shown.
func TestSignKeyFileModeWarns(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		mode  os.FileMode
		args  []string
		warns bool
	}{
		{"StatusWorldReadable", 0o644, []string{"status"}, true},
		{"CountGroupReadable", 0o640, []string{"count"}, true},
		{"StatusOwnerOnly", 0o600, []string{"status"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".keys")
			if err := os.WriteFile(path, []byte("k1 "+secret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			dsn := "mem://keyfile-" + tt.name + "?sign_key_file=" + url.QueryEscape(path)
			_, out, errOut := runCLI(t, "", append(tt.args, "--dsn", dsn)...)
			warned := strings.Contains(errOut, "alertstore "+tt.args[0]+": warning: sign_key_file "+path) && strings.Contains(errOut, "key_file_mode")
			if warned != tt.warns {
				t.Errorf("stderr warned = %t, want %t\nstderr: %s", warned, tt.warns, errOut)
			}
			if tt.args[0] == "status" {
				listed := strings.Contains(out, "security:     WARNING") && strings.Contains(out, "sign_key_file")
				if listed != tt.warns {
					t.Errorf("status listed the warning = %t, want %t\nstdout: %s", listed, tt.warns, out)
				}
			}
			if strings.Contains(out+errOut, secret[:8]) {
				t.Error("the output shows the key")
			}
		})
	}
}
