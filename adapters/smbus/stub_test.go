package smbus

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/internal/kerneltest"
)

// TestI2CStub exercises the real ioctls against the kernel's i2c-stub,
// which is plain register memory: good for the wire format, not for
// behaviour. It runs as root wherever the drivers are loaded:
//
//	modprobe i2c-dev
//	modprobe i2c-stub chip_addr=0x10
//	go test -run TestI2CStub -v ./adapters/smbus/
//
// and skips saying exactly what is missing otherwise. The test binary runs
// on its own (cross-built with GOARCH=arm GOARM=7 go test -c), for a board:
//
//	./smbus.test -test.run TestI2CStub -test.v [-kernel.require] [-smbus.dev /dev/i2c-N -smbus.addr 0x10]
//
// -kernel.require makes a missing driver a failure; -smbus.dev and
// -smbus.addr name the stub's adapter and chip instead of finding them.
var (
	stubDev  = flag.String("smbus.dev", "", "i2c-dev node of the i2c-stub adapter for TestI2CStub; found through sysfs when empty")
	stubAddr = flag.Uint("smbus.addr", 0, "i2c-stub chip address for TestI2CStub; its first chip_addr when 0")
)

// stubAdapterName is what i2c-stub calls its adapter.
const stubAdapterName = "SMBus stub driver"

// adapterNameFiles lists the name files of every I2C adapter: in
// /sys/bus/i2c/devices on current kernels, in /sys/class/i2c-dev once
// i2c-dev is loaded, in /sys/class/i2c-adapter on kernels before 6.x that
// kept that class.
func adapterNameFiles(root kerneltest.Root) []string {
	seen := map[string]string{}
	for _, pattern := range []string{"sys/bus/i2c/devices/i2c-*/name", "sys/class/i2c-dev/i2c-*/name", "sys/class/i2c-adapter/i2c-*/name"} {
		names, _ := filepath.Glob(filepath.Join(string(root), pattern))
		for _, n := range names {
			if bus := filepath.Base(filepath.Dir(n)); seen[bus] == "" {
				seen[bus] = n
			}
		}
	}
	files := make([]string, 0, len(seen))
	for _, n := range seen {
		files = append(files, n)
	}
	sort.Strings(files)
	return files
}

// findStub finds the i2c-stub adapter's i2c-dev node under root and its
// first chip address, or says precisely why it cannot.
func findStub(root kerneltest.Root) (dev string, addr uint16, why string) {
	if _, err := os.Stat(filepath.Join(string(root), "sys/bus/i2c")); err != nil {
		return "", 0, "the kernel has no I2C subsystem (/sys/bus/i2c missing: built without CONFIG_I2C); " + root.Module("i2c-stub")
	}
	files := adapterNameFiles(root)
	bus := ""
	for _, n := range files {
		if b, err := os.ReadFile(n); err == nil && strings.TrimSpace(string(b)) == stubAdapterName {
			bus = filepath.Base(filepath.Dir(n))
			break
		}
	}
	if bus == "" {
		return "", 0, fmt.Sprintf("no adapter named %q among the %d I2C adapters; %s (modprobe i2c-stub chip_addr=0x10)", stubAdapterName, len(files), root.Module("i2c-stub"))
	}
	dev = filepath.Join(string(root), "dev", bus)
	if _, err := os.Stat(dev); err != nil {
		return "", 0, fmt.Sprintf("the stub is %s but %s is missing; %s", bus, dev, root.Module("i2c-dev"))
	}
	param := filepath.Join(string(root), "sys/module/i2c_stub/parameters/chip_addr")
	b, err := os.ReadFile(param)
	if err != nil {
		return "", 0, fmt.Sprintf("cannot read the stub's chip addresses: %v", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), ",")
	a, err := strconv.ParseUint(first, 0, 7)
	if err != nil || a == 0 {
		return "", 0, fmt.Sprintf("i2c-stub has no chip (%s is %q): reload it with chip_addr=0x10", param, first)
	}
	return dev, uint16(a), ""
}

// stubBus is the adapter and chip TestI2CStub uses.
func stubBus(t *testing.T) (path string, addr uint16) {
	t.Helper()
	if *stubDev != "" {
		if *stubAddr == 0 || *stubAddr > 0x7f {
			t.Fatalf("-smbus.dev %s needs -smbus.addr, a 7-bit chip address (got %#x)", *stubDev, *stubAddr)
		}
		return *stubDev, uint16(*stubAddr)
	}
	path, addr, why := findStub(kerneltest.System)
	if why != "" {
		kerneltest.Unavailable(t, why)
	}
	if *stubAddr != 0 {
		addr = uint16(*stubAddr)
	}
	return path, addr
}

// A 6.x kernel lists adapters under /sys/bus/i2c/devices only (there is no
// /sys/class/i2c-adapter), so the stub used to be never found there.
func TestFindStubOnCurrentKernels(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) { t.Helper(); kerneltest.Root(root).Write(t, p, s) }
	write("proc/sys/kernel/osrelease", "6.12.0\n")
	write("proc/modules", "i2c_dev 20480 0 - Live 0x0\n")
	write("lib/modules/6.12.0/modules.dep", "kernel/drivers/i2c/busses/i2c-stub.ko.xz:\nkernel/drivers/i2c/i2c-dev.ko.xz:\n")
	write("sys/bus/i2c/devices/i2c-0/name", "1e78a080.i2c-bus\n")
	write("sys/bus/i2c/devices/0-0010/name", "adm1272\n")
	_, _, why := findStub(kerneltest.Root(root))
	if !strings.Contains(why, `no adapter named "SMBus stub driver" among the 1 I2C adapters`) || !strings.Contains(why, "module i2c-stub is not loaded: modprobe i2c-stub") {
		t.Errorf("without the stub: %q", why)
	}

	write("sys/bus/i2c/devices/i2c-7/name", "SMBus stub driver\n")
	write("proc/modules", "i2c_dev 20480 0 - Live 0x0\ni2c_stub 16384 0 - Live 0x0\n")
	write("sys/module/i2c_stub/parameters/chip_addr", "16,88\n")
	_, _, why = findStub(kerneltest.Root(root))
	if !strings.Contains(why, "dev/i2c-7 is missing") {
		t.Errorf("without the i2c-dev node: %q", why)
	}
	write("dev/i2c-7", "")
	dev, addr, why := findStub(kerneltest.Root(root))
	if why != "" || dev != filepath.Join(root, "dev/i2c-7") || addr != 0x10 {
		t.Errorf("findStub = %s, %#x, %q; want %s/dev/i2c-7, 0x10", dev, addr, why, root)
	}
}

// On a kernel without I2C or modules (this CI's microVM) the reason says so.
func TestFindStubExplainsAKernelWithoutI2C(t *testing.T) {
	root := t.TempDir()
	kerneltest.Root(root).Write(t, "proc/sys/kernel/osrelease", "6.18.44-fc\n")
	_, _, why := findStub(kerneltest.Root(root))
	for _, want := range []string{"CONFIG_I2C", "kernel 6.18.44-fc cannot load modules"} {
		if !strings.Contains(why, want) {
			t.Errorf("reason %q lacks %q", why, want)
		}
	}
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
