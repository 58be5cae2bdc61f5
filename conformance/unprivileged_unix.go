//go:build unix

package conformance

import (
	"os/exec"
	"syscall"
)

// runAs sets cmd to run as uid and gid id.
func runAs(cmd *exec.Cmd, id uint32) bool {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: id, Gid: id}}
	return true
}
