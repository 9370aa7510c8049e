package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procRoot is where the process table is read; tests never change it, it
// only names the path once.
const procRoot = "/proc"

// procStat is what statemgr reads of /proc/<pid>/stat.
type procStat struct {
	State      byte   // field 3: R, S, D, Z, T...
	PGID       int    // field 5
	StartTicks uint64 // field 22: start time in clock ticks since boot
}

// readStat reads /proc/<pid>/stat. The command name (field 2) may contain
// spaces and parentheses, so the fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, errors.New("malformed stat: too few fields")
	}
	pgid, err := strconv.Atoi(f[5-3])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed stat: pgrp: %w", err)
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed stat: starttime: %w", err)
	}
	return procStat{State: f[0][0], PGID: pgid, StartTicks: start}, nil
}

// alive reports whether the state is that of a process that still runs
// (a zombie has exited and only waits to be reaped).
func (s procStat) alive() bool { return s.State != 'Z' && s.State != 'X' && s.State != 'x' }

// bootID returns the kernel's boot id, so a pid file from an earlier boot
// is never taken for a live process.
func bootID() (string, error) {
	b, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// groupMembers returns the live (non-zombie) processes of process group
// pgid. It asks the kernel first, so an empty group costs one syscall.
func groupMembers(pgid int) ([]int, error) {
	if pgid <= 1 {
		return nil, fmt.Errorf("refusing to inspect process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return nil, nil
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process directory
		}
		st, err := readStat(pid)
		if err != nil {
			continue // exited while we looked
		}
		if st.PGID == pgid && st.alive() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// signalGroup sends sig to every process of group pgid. It refuses the
// groups whose negation means "every process" or "my group" to kill(2).
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 || pgid == syscall.Getpgrp() {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cannot send %s to process group %d: %w", signalName(sig), pgid, err)
	}
	return nil
}
