package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/statemgr/statemgr/actors/machine"
)

func TestBootDetection(t *testing.T) {
	dir := t.TempDir()
	b := bootFacts{bootIDFile: filepath.Join(dir, "boot_id_kernel"), bootStatusFile: filepath.Join(dir, "bootstatus")}
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(b.bootIDFile, "aaaa\n")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	booted, id, err := b.newBoot(data)
	if err != nil || !booted || id != "aaaa" {
		t.Fatalf("first start: booted=%v id=%q err=%v, want a boot", booted, id, err)
	}
	if err := recordBoot(data, id); err != nil {
		t.Fatal(err)
	}
	if booted, _, _ = b.newBoot(data); booted {
		t.Fatal("a daemon restart within one boot was taken for a BMC boot")
	}
	write(b.bootIDFile, "bbbb\n")
	if booted, _, _ = b.newBoot(data); !booted {
		t.Fatal("a new kernel boot id was not taken for a BMC boot")
	}
	for status, want := range map[string]string{"0x20": machine.RebootCauseWatchdog, "4": machine.RebootCauseSoftware, "0": machine.RebootCausePOR, "junk": machine.RebootCauseUnknown} {
		write(b.bootStatusFile, status)
		if got := b.rebootCause(); got != want {
			t.Errorf("bootstatus %s: %s, want %s", status, got, want)
		}
	}
	if err := os.Remove(b.bootStatusFile); err != nil {
		t.Fatal(err)
	}
	if got := b.rebootCause(); got != machine.RebootCauseUnknown {
		t.Errorf("no watchdog: %s, want Unknown", got)
	}
}

// Ensure a BMC reset in progress makes the next start a BMC boot with
// reboot cause Software within one kernel boot, even if the daemon died
// meanwhile, and that recording the boot ends the reset.
func TestResetMarkerMakesTheNextStartABoot(t *testing.T) {
	dir := t.TempDir()
	b := bootFacts{bootIDFile: filepath.Join(dir, "boot_id_kernel"), bootStatusFile: filepath.Join(dir, "bootstatus")}
	if err := os.WriteFile(b.bootIDFile, []byte("aaaa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := recordBoot(data, "aaaa"); err != nil {
		t.Fatal(err)
	}
	if err := markReset(data); err != nil {
		t.Fatal(err)
	}
	s, err := b.detect(data)
	if err != nil || !s.isNew || !s.reset || s.cause != machine.RebootCauseSoftware || s.input().Value != machine.RebootCauseSoftware {
		t.Fatalf("start after a reset: %+v, %v; want a boot with cause Software", s, err)
	}
	if err := s.record(data); err != nil {
		t.Fatal(err)
	}
	if s, err = b.detect(data); err != nil || s.isNew {
		t.Fatalf("start after the reset was recorded: %+v, %v; want a daemon restart", s, err)
	}
}
