package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/durablefile"
)

// Linux watchdog bootstatus bits (linux/watchdog.h).
const (
	wdiofCardReset = 0x0020 // the last reboot was caused by the watchdog
	wdiofExtern1   = 0x0004 // external signal 1: a software-requested reset
)

// bootFacts are the paths the daemon reads to tell a BMC boot from a daemon
// restart; tests point them elsewhere.
type bootFacts struct {
	bootIDFile     string // the kernel's id of this boot
	bootStatusFile string // the watchdog's reason for the last reset
}

var hostBoot = bootFacts{
	bootIDFile:     "/proc/sys/kernel/random/boot_id",
	bootStatusFile: "/sys/class/watchdog/watchdog0/bootstatus",
}

// newBoot reports whether the BMC has booted since the daemon last ran on
// dataDir (the kernel's boot id differs from the one recorded), and the
// current boot id to record once the boot is logged. A daemon restart
// within one boot is not a BMC reboot: power-restore policies and the BMC
// state must not react to it.
func (b bootFacts) newBoot(dataDir string) (booted bool, id string, err error) {
	raw, err := os.ReadFile(b.bootIDFile)
	if err != nil {
		return false, "", fmt.Errorf("cannot read the kernel boot id: %w", err)
	}
	id = strings.TrimSpace(string(raw))
	last, err := os.ReadFile(filepath.Join(dataDir, "boot_id"))
	if errors.Is(err, fs.ErrNotExist) {
		return true, id, nil
	}
	if err != nil {
		return false, "", fmt.Errorf("cannot read the recorded boot id: %w", err)
	}
	return strings.TrimSpace(string(last)) != id, id, nil
}

// record stores the boot id after the boot has been logged.
func recordBoot(dataDir, id string) error {
	if err := durablefile.WriteAtomic(filepath.Join(dataDir, "boot_id"), []byte(id+"\n"), dataFileMode); err != nil {
		return fmt.Errorf("cannot record the boot id: %w", err)
	}
	return nil
}

// rebootCause reads why the BMC last reset, as phosphor-state-manager does:
// the watchdog's bootstatus says watchdog or software; a watchdog with no
// reason bit means power-on reset; no watchdog means unknown.
func (b bootFacts) rebootCause() string {
	raw, err := os.ReadFile(b.bootStatusFile)
	if err != nil {
		return machine.RebootCauseUnknown
	}
	bits, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 0, 32)
	switch {
	case err != nil:
		return machine.RebootCauseUnknown
	case bits&wdiofCardReset != 0:
		return machine.RebootCauseWatchdog
	case bits&wdiofExtern1 != 0:
		return machine.RebootCauseSoftware
	default:
		return machine.RebootCausePOR
	}
}

// resetFile, in the data directory, marks a BMC reset (restart-daemon) in
// progress: the daemon stops and starts again within one kernel boot, and
// the start after it, in process or after a crash meanwhile, records a BMC
// boot with reboot cause Software, as the BMC's reboot would.
const resetFile = "bmc_reset"

// markReset records that a BMC reset is in progress.
func markReset(dataDir string) error {
	if err := durablefile.WriteAtomic(filepath.Join(dataDir, resetFile), []byte(string(platform.BMCResetRestartDaemon)+"\n"), dataFileMode); err != nil {
		return fmt.Errorf("cannot record the BMC reset: %w", err)
	}
	return nil
}

// bootAtStart is what a daemon start knows of the BMC's boot.
type bootAtStart struct {
	isNew bool   // the BMC booted, or was reset, since the daemon last ran on the data directory
	id    string // the kernel's boot id; "" if unreadable
	cause string // the reboot cause, if isNew
	reset bool   // the boot is a BMC reset (restart-daemon)
}

// detect tells a BMC boot, or a BMC reset in progress, from a daemon
// restart. A reset is a boot even if the boot id cannot be read.
func (b bootFacts) detect(dataDir string) (bootAtStart, error) {
	var s bootAtStart
	booted, id, err := b.newBoot(dataDir)
	s.id = id
	if _, rerr := os.Stat(filepath.Join(dataDir, resetFile)); rerr == nil {
		s.isNew, s.reset, s.cause = true, true, machine.RebootCauseSoftware
		return s, err
	}
	if booted {
		s.isNew, s.cause = true, b.rebootCause()
	}
	return s, err
}

// input is the BMC's booted observation for this boot.
func (s bootAtStart) input() machine.Input {
	cause := fmt.Sprintf("BMC boot %s (reboot cause %s)", s.id, s.cause)
	if s.reset {
		cause = "BMC reset (" + string(platform.BMCResetRestartDaemon) + "): " + cause
	}
	return machine.Input{Value: s.cause, Cause: cause}
}

// record stores, once the boot is logged, the boot id and the end of the
// BMC reset, so that the next start within this boot is a daemon restart.
func (s bootAtStart) record(dataDir string) error {
	if s.id != "" {
		if err := recordBoot(dataDir, s.id); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dataDir, resetFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot record the end of the BMC reset: %w", err)
	}
	return nil
}
