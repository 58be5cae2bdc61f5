package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockHolder finds the process that holds a lock on the file at path, by
// its device and inode in /proc/locks (bbolt takes an flock), and says
// what kind of process it is; 0 when it cannot tell (no such line, or
// /proc not readable).
func lockHolder(path string) (pid int, class string) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, ""
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0, ""
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	// 1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "->" {
			fields = append(fields[:1], fields[2:]...) // a waiter's line
		}
		if len(fields) < 6 || !strings.EqualFold(fields[5], want) {
			continue
		}
		if p, err := strconv.Atoi(fields[4]); err == nil && p > 0 {
			return p, processClass(p)
		}
	}
	return 0, ""
}

// processClass names what a process is from its command line: an
// alertstore command (serve, a streaming put -, watch...), or the
// program's name.
func processClass(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return "unknown program"
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	prog := filepath.Base(argv[0])
	class := prog
	if prog == "alertstore" {
		sub := ""
		stdin := false
		valued := map[string]bool{"--dsn": true, "--log-level": true, "--log-format": true, "--replay-budget": true, "--color": true}
		for i := 1; i < len(argv); i++ {
			a := argv[i]
			switch {
			case valued[a]:
				i++ // its value
			case sub == "" && !strings.HasPrefix(a, "-"):
				sub = a
			}
			stdin = stdin || a == "-"
		}
		switch {
		case sub == "serve":
			class = "alertstore serve: the server other processes should go through"
		case sub == "put" && stdin:
			class = "alertstore put -: a streaming writer, holding the file while its input lasts"
		case sub == "watch":
			class = "alertstore watch: a follower, holding the file while it runs"
		case sub != "":
			class = "alertstore " + sub
		}
	}
	if pid == os.Getpid() {
		class += ", this very process"
	}
	return class
}
