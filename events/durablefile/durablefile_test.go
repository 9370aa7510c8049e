package durablefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/statemgr/statemgr/events/durablefile"
)

// TestWriteAtomicReplacesTheFile: the new content and mode are in place
// and no temporary file is left beside it.
func TestWriteAtomicReplacesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "boot_id")
	for _, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := durablefile.WriteAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file", len(entries))
	}
}

// TestWriteAtomicFailureLeavesTheOldFile: when the rename cannot happen
// (the target is a non-empty directory) the old content stays and the
// temporary file is removed.
func TestWriteAtomicFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "platform.hcl")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := durablefile.WriteAtomic(target, []byte("new"), 0o640); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Fatalf("the old target is gone: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want the temporary file removed", len(entries))
	}
	if err := durablefile.SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("syncing a missing directory succeeded")
	}
}
