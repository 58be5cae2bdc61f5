//go:build !unix

package conformance

import "os/exec"

// runAs reports that this platform cannot switch users for a child.
func runAs(*exec.Cmd, uint32) bool { return false }
