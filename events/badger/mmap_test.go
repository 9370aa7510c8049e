package badger_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/ristretto/v2/z"
	"golang.org/x/sys/unix"
)

// Badger maps every table, memtable and value-log file with ristretto's
// z.OpenMmapFile and unmaps it with a raw munmap. If x/sys/unix recorded
// the mapping (unix.Mmap does, in a global map keyed by a pointer to its
// last byte), the record would outlive the mapping: on 32-bit ARM the Go
// heap grows into the unmapped range and the GC dies with "found bad
// pointer in Go heap" (issue 14, events/badger/ristretto). unix.Munmap finds
// only recorded mappings, so it must refuse a ristretto mapping, before and
// after the mapping grows (mremap).
func TestMappedFilesLeaveNoPointerInUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "000001.sst")
	mf, err := z.OpenMmapFile(path, os.O_RDWR|os.O_CREATE, 1<<20)
	if err != nil && !errors.Is(err, z.NewFile) {
		t.Fatal(err)
	}
	defer func() {
		if err := mf.Close(-1); err != nil {
			t.Fatal(err)
		}
	}()
	for _, step := range []struct {
		name string
		grow int64
	}{{"mapped", 0}, {"grown by mremap", 4 << 20}} {
		if step.grow > 0 {
			if err := mf.Truncate(step.grow); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.Munmap(mf.Data); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("%s: unix.Munmap of a ristretto mapping of %d bytes returned %v, want EINVAL: x/sys/unix recorded the mapping and keeps a pointer into it after ristretto unmaps it", step.name, len(mf.Data), err)
		}
	}
}
