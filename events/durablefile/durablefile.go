package durablefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic replaces path with data, mode perm: a temporary file in
// path's directory is written, synced and renamed over path, and the
// directory is synced, so the rename is durable before WriteAtomic
// returns. On error the temporary file is removed and path is untouched.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name()) // best effort: a stray temporary file is harmless
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes the files created, renamed or removed in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s to sync it: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}
