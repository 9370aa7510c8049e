//go:build hwsim

package smbus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters"
)

// This file exercises the real ioctls against the kernel's i2c-stub, which
// is plain register memory: good for the wire format, not for behaviour.
// Run as root with the modules loaded, for instance:
//
//	modprobe i2c-dev
//	modprobe i2c-stub chip_addr=0x58 functionality=0x03ff0000
//	go test -tags hwsim ./adapters/smbus/

// stubBus finds the i2c-stub adapter and its first chip address.
func stubBus(t *testing.T) (path string, addr uint16) {
	t.Helper()
	names, _ := filepath.Glob("/sys/class/i2c-adapter/i2c-*/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || strings.TrimSpace(string(b)) != "SMBus stub driver" {
			continue
		}
		path = "/dev/" + filepath.Base(filepath.Dir(n))
	}
	if path == "" {
		t.Skip("i2c-stub test skipped: no \"SMBus stub driver\" adapter (modprobe i2c-stub chip_addr=0x58)")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("i2c-stub test skipped: %s missing (modprobe i2c-dev)", path)
	}
	b, err := os.ReadFile("/sys/module/i2c_stub/parameters/chip_addr")
	if err != nil {
		t.Skipf("i2c-stub test skipped: cannot read its chip_addr: %v", err)
	}
	first := strings.Split(strings.TrimSpace(string(b)), ",")[0]
	a, err := strconv.ParseUint(first, 0, 16)
	if err != nil || a == 0 {
		t.Skipf("i2c-stub test skipped: chip_addr %q has no address", first)
	}
	return path, uint16(a)
}

func TestI2CStub(t *testing.T) {
	path, addr := stubBus(t)
	ctx := context.Background()
	d, err := Open(path, addr, "stub")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	if err := d.WriteByteData(ctx, adapters.CmdVoutMode, 0x17); err != nil {
		t.Fatal(err)
	}
	if v, err := d.ReadByteData(ctx, adapters.CmdVoutMode); err != nil || v != 0x17 {
		t.Errorf("ReadByteData = 0x%02X, %v; want 0x17", v, err)
	}
	if err := d.WriteWord(ctx, adapters.CmdReadVout, 0x1801); err != nil {
		t.Fatal(err)
	}
	if w, err := d.ReadWord(ctx, adapters.CmdReadVout); err != nil || w != 0x1801 {
		t.Errorf("ReadWord = 0x%04X, %v; want 0x1801", w, err)
	}
	// i2c-stub stores the byte as its register pointer; it must not fail.
	if err := d.SendByte(ctx, adapters.CmdClearFaults); err != nil {
		t.Errorf("SendByte: %v", err)
	}
	// Without SMBus block functionality the read must not reach the
	// kernel; with it, i2c-stub answers only blocks written before and
	// refuses others with EOPNOTSUPP, which must come back classified.
	_, err = d.BlockRead(ctx, adapters.CmdMfrID)
	if err != nil && !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("BlockRead: %v, want success or ErrUnsupported", err)
	}
}
