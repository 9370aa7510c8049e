package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/durablefile"
)

// HighWaterFile is the file, beside Badger's, that holds the highest global
// sequence ever acknowledged. Badger's own head can fall back when its
// files are damaged (its write-ahead log replay stops at the first bad
// entry and drops the rest without a word); this file is written after each
// commit and before the acknowledgement, outside Badger, so damage to
// Badger's files cannot lower it. Open refuses a log whose head is below it.
//
// A second copy lives outside the log's directory (Options.MarkCopy,
// default <Dir>.highwater), so that losing, damaging or rolling back one
// copy — or the whole directory, as restoring an old backup of it does —
// cannot lower the mark: the two are read together and the higher valid
// one counts.
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

// markCopy is one open copy of the high-water mark.
type markCopy struct {
	f       *os.File
	mark    uint64
	valid   bool
	created bool // the file did not exist
}

// highWater is the open pair of high-water copies. The log holds an
// exclusive lock on the copy in its directory while open, so the checks
// that run before Badger takes its own directory lock never race another
// process. Only the committer writes it.
type highWater struct {
	copies [2]markCopy // [0] in the log's directory, [1] outside it
	gen    uint64
}

// defaultMarkCopy is where the second copy lives when Options.MarkCopy is
// empty: beside the log's directory, not in it.
func defaultMarkCopy(dir string) string { return filepath.Clean(dir) + ".highwater" }

// lockHighWater opens (creating if needed) both copies of the high-water
// mark, locks the one in dir, and returns the mark: the higher of the valid
// copies; valid is false when neither copy holds one (a new log, or both
// lost).
func lockHighWater(dir, copyPath string) (h *highWater, mark uint64, valid bool, err error) {
	h = &highWater{}
	for i, path := range [2]string{filepath.Join(dir, HighWaterFile), copyPath} {
		c, gen, err := openMarkCopy(path, i == 0)
		if err != nil {
			_ = h.close()
			return nil, 0, false, err
		}
		h.copies[i] = c
		h.gen = max(h.gen, gen)
		if c.valid && (!valid || c.mark > mark) {
			mark, valid = c.mark, true
		}
	}
	return h, mark, valid, nil
}

func openMarkCopy(path string, lock bool) (c markCopy, gen uint64, err error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return c, 0, fmt.Errorf("cannot open the high-water file: %w", err)
	}
	if lock {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			return c, 0, fmt.Errorf("cannot lock %s: another process has the event log open: %w", path, err)
		}
	}
	raw := make([]byte, hwSlotSpan+hwSlotLen)
	n, _ := f.ReadAt(raw, 0)
	c = markCopy{f: f, created: errors.Is(statErr, fs.ErrNotExist)}
	gen, c.mark, c.valid = decodeHighWater(raw[:n])
	return c, gen, nil
}

// disagreement says which copy is missing, damaged or behind the mark, or
// "" when both hold it.
func (h *highWater) disagreement(mark uint64) string {
	var out []string
	for _, c := range h.copies {
		switch {
		case !c.valid:
			out = append(out, c.f.Name()+" is missing or damaged")
		case c.mark < mark:
			out = append(out, fmt.Sprintf("%s holds %d, behind the other copy's %d (rolled back)", c.f.Name(), c.mark, mark))
		}
	}
	return strings.Join(out, "; ")
}

// withMarkDisagreement adds to a damage report which copy of the mark was
// missing or behind, so the operator knows which file not to trust.
func withMarkDisagreement(err error, disagreement string) error {
	var damaged *events.DamageError
	if disagreement != "" && errors.As(err, &damaged) {
		damaged.Problems = append(damaged.Problems, "high-water copies: "+disagreement)
	}
	return err
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

// reset writes seq to both slots of both copies, replacing a missing,
// damaged or rolled-back copy whole.
func (h *highWater) reset(seq uint64) error {
	for range 2 {
		if err := h.store(seq); err != nil {
			return err
		}
	}
	for _, c := range h.copies {
		if c.created {
			if err := durablefile.SyncDir(filepath.Dir(c.f.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// store makes seq the high-water mark in both copies, durably.
func (h *highWater) store(seq uint64) error {
	h.gen++
	s := make([]byte, 0, hwSlotLen)
	s = append(s, hwMagic[:]...)
	s = append(s, hwVersion, 0, 0, 0)
	s = binary.LittleEndian.AppendUint64(s, h.gen)
	s = binary.LittleEndian.AppendUint64(s, seq)
	s = binary.LittleEndian.AppendUint32(s, crc32.Checksum(s, castagnoli))
	for _, c := range h.copies {
		if _, err := c.f.WriteAt(s, int64(h.gen%2)*hwSlotSpan); err != nil {
			return fmt.Errorf("cannot write the high-water file: %w", err)
		}
		if err := c.f.Sync(); err != nil {
			return fmt.Errorf("cannot sync the high-water file: %w", err)
		}
	}
	return nil
}

func (h *highWater) close() error {
	var first error
	for _, c := range h.copies {
		if c.f != nil {
			if err := c.f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
