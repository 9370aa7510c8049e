package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// HighWaterFile is the file, beside Badger's, that holds the highest global
// sequence ever acknowledged. Badger's own head can fall back when its
// files are damaged (its write-ahead log replay stops at the first bad
// entry and drops the rest without a word); this file is written after each
// commit and before the acknowledgement, outside Badger, so damage to
// Badger's files cannot lower it. Open refuses a log whose head is below it.
const HighWaterFile = "STATEMGR-HIGHWATER"

// The file holds two slots, written alternately, so a write torn by a power
// cut leaves the other slot intact:
//
//	magic "smhw" | version 1 | 3 zero bytes | generation u64 | seq u64 | CRC-32C u32
//
// (little endian). The valid slot with the higher generation wins.
const (
	hwSlotLen  = 28
	hwSlotSpan = 512 // one sector per slot
	hwVersion  = 1
)

var hwMagic = [4]byte{'s', 'm', 'h', 'w'}

// highWater is the open high-water file. The log holds an exclusive lock
// on it while open, so the checks that run before Badger takes its own
// directory lock never race another process. Only the committer writes it.
type highWater struct {
	f       *os.File
	gen     uint64
	created bool // the file did not exist
}

// lockHighWater opens (creating if needed) and locks the high-water file in
// dir and returns the mark it holds; valid is false for a new, missing or
// damaged file.
func lockHighWater(dir string) (h *highWater, mark uint64, valid bool, err error) {
	path := filepath.Join(dir, HighWaterFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, false, fmt.Errorf("cannot open the high-water file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, 0, false, fmt.Errorf("cannot lock %s: another process has the event log open: %w", path, err)
	}
	raw := make([]byte, hwSlotSpan+hwSlotLen)
	n, _ := f.ReadAt(raw, 0)
	h = &highWater{f: f, created: errors.Is(statErr, fs.ErrNotExist)}
	h.gen, mark, valid = decodeHighWater(raw[:n])
	return h, mark, valid, nil
}

func decodeHighWater(b []byte) (gen, seq uint64, ok bool) {
	for off := 0; off+hwSlotLen <= len(b) && off <= hwSlotSpan; off += hwSlotSpan {
		s := b[off : off+hwSlotLen]
		if [4]byte(s[:4]) != hwMagic || s[4] != hwVersion ||
			crc32.Checksum(s[:hwSlotLen-4], castagnoli) != binary.LittleEndian.Uint32(s[hwSlotLen-4:]) {
			continue
		}
		if g := binary.LittleEndian.Uint64(s[8:]); !ok || g > gen {
			gen, seq, ok = g, binary.LittleEndian.Uint64(s[16:]), true
		}
	}
	return gen, seq, ok
}

// reset writes seq to both slots, replacing a missing or damaged file whole.
func (h *highWater) reset(seq uint64, dir string) error {
	for range 2 {
		if err := h.store(seq); err != nil {
			return err
		}
	}
	if h.created {
		return syncDir(dir)
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// store makes seq the high-water mark, durably.
func (h *highWater) store(seq uint64) error {
	h.gen++
	s := make([]byte, 0, hwSlotLen)
	s = append(s, hwMagic[:]...)
	s = append(s, hwVersion, 0, 0, 0)
	s = binary.LittleEndian.AppendUint64(s, h.gen)
	s = binary.LittleEndian.AppendUint64(s, seq)
	s = binary.LittleEndian.AppendUint32(s, crc32.Checksum(s, castagnoli))
	if _, err := h.f.WriteAt(s, int64(h.gen%2)*hwSlotSpan); err != nil {
		return fmt.Errorf("cannot write the high-water file: %w", err)
	}
	if err := h.f.Sync(); err != nil {
		return fmt.Errorf("cannot sync the high-water file: %w", err)
	}
	return nil
}

func (h *highWater) close() error { return h.f.Close() }

// syncDir makes a file created or renamed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}
