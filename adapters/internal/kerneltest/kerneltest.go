package kerneltest

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var require = flag.Bool("kernel.require", false, "fail, rather than skip, a test whose kernel driver is missing")

// Unavailable skips the test with why (prefixed with the test's name), or
// fails it under -kernel.require.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	msg := t.Name() + " cannot run against the kernel driver: " + why
	if *require {
		t.Fatal(msg + " (-kernel.require is set)")
	}
	t.Skip(msg)
}

// Root is where the kernel's files are read; tests of this package's
// callers' discovery point it at a directory shaped like / .
type Root string

// System is the running kernel's files.
const System Root = "/"

func (r Root) path(p string) string { return filepath.Join(string(r), p) }

// Module explains the state of a kernel module (name as modprobe takes
// it, e.g. "i2c-stub"): loaded, built in, loadable with modprobe, or why
// it cannot be loaded on this kernel.
func (r Root) Module(name string) string {
	mod := strings.ReplaceAll(name, "-", "_")
	release := r.release()
	if r.loaded(mod) {
		return fmt.Sprintf("module %s is loaded", name)
	}
	if r.listed("lib/modules/"+release+"/modules.builtin", name) {
		return fmt.Sprintf("module %s is built into kernel %s", name, release)
	}
	if _, err := os.Stat(r.path("proc/modules")); errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("kernel %s cannot load modules (no /proc/modules: built without CONFIG_MODULES), and %s is not built in", release, name)
	}
	if _, err := os.Stat(r.path("lib/modules/" + release)); err != nil {
		return fmt.Sprintf("module %s is not loaded and kernel %s has no modules installed (/lib/modules/%s missing)", name, release, release)
	}
	if r.listed("lib/modules/"+release+"/modules.dep", name) {
		return fmt.Sprintf("module %s is not loaded: modprobe %s", name, name)
	}
	return fmt.Sprintf("kernel %s has no module %s (not in /lib/modules/%s/modules.dep: built without it)", release, name, release)
}

func (r Root) release() string {
	if b, err := os.ReadFile(r.path("proc/sys/kernel/osrelease")); err == nil {
		return strings.TrimSpace(string(b))
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown release)"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// loaded: /proc/modules lists it, or it is built in with parameters
// (/sys/module/<mod>/parameters).
func (r Root) loaded(mod string) bool {
	if found := r.scan("proc/modules", func(line string) bool { return strings.HasPrefix(line, mod+" ") }); found {
		return true
	}
	_, err := os.Stat(r.path("sys/module/" + mod + "/parameters"))
	return err == nil
}

// listed: a modules.dep or modules.builtin line names <name>.ko.
func (r Root) listed(file, name string) bool {
	variants := []string{name, strings.ReplaceAll(name, "-", "_")}
	return r.scan(file, func(line string) bool {
		path, _, _ := strings.Cut(line, ":")
		base := filepath.Base(path)
		for _, v := range variants {
			if strings.HasPrefix(base, v+".ko") {
				return true
			}
		}
		return false
	})
}

func (r Root) scan(file string, match func(string) bool) bool {
	f, err := os.Open(r.path(file))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if match(s.Text()) {
			return true
		}
	}
	return false
}

// Write creates the file p under r with content s, and its directories.
func (r Root) Write(t testing.TB, p, s string) {
	t.Helper()
	p = r.path(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
