package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// The content of a checkpoint, format 1: a magic string and the format
// byte, then records, each a tag byte and uvarint-length-prefixed fields:
//
//	'P' file, source          the platform file (exactly one, first)
//	'K' key, value            one key of the database (any number)
//	'E' seq, records (uvarint) the end: the manifest's Seq and Records
//
// Nothing may follow the end record. The manifest's SHA256 covers all of
// it, so a content cut anywhere, or with a byte changed, is refused.
const magic = "STATEMGR-CHECKPOINT\x00"

// Limits a reader applies before allocating: a key is at most Badger's
// limit, a value far beyond any event or snapshot, the platform at most
// platform.MaxSourceBytes.
const (
	maxKeyBytes      = 65000
	maxValueBytes    = 64 << 20
	maxPlatformBytes = 1 << 20
)

const (
	tagPlatform = 'P'
	tagRecord   = 'K'
	tagEnd      = 'E'
)

// Writer encodes a checkpoint's content and sums it as it goes.
type Writer struct {
	w       *bufio.Writer
	sum     hash.Hash
	n       int64
	records uint64
	err     error
	buf     []byte
}

// NewWriter starts a content on w with the platform's file name and text.
func NewWriter(w io.Writer, platformFile string, platformSource []byte) *Writer {
	cw := &Writer{sum: sha256.New()}
	cw.w = bufio.NewWriterSize(io.MultiWriter(w, cw.sum, (*counter)(&cw.n)), 64<<10)
	cw.write(append([]byte(magic), Format))
	cw.record(tagPlatform, []byte(platformFile), platformSource)
	return cw
}

// Record adds one key and value of the database.
func (w *Writer) Record(key, value []byte) error {
	w.record(tagRecord, key, value)
	w.records++
	return w.err
}

// Close writes the end record for global sequence seq and fills in the
// manifest's Seq, Size, SHA256 and Records.
func (w *Writer) Close(seq uint64, m *Manifest) error {
	b := binary.AppendUvarint([]byte{tagEnd}, seq)
	w.write(binary.AppendUvarint(b, w.records))
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err != nil {
		return fmt.Errorf("cannot write checkpoint content: %w", w.err)
	}
	m.Seq, m.Size, m.Records, m.SHA256 = seq, w.n, w.records, hex.EncodeToString(w.sum.Sum(nil))
	return nil
}

func (w *Writer) record(tag byte, a, b []byte) {
	w.buf = append(w.buf[:0], tag)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(a)))
	w.write(w.buf)
	w.write(a)
	w.buf = binary.AppendUvarint(w.buf[:0], uint64(len(b)))
	w.write(w.buf)
	w.write(b)
}

func (w *Writer) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

type counter int64

func (c *counter) Write(b []byte) (int, error) { *c += counter(len(b)); return len(b), nil }

// Visitor receives a content's parts as Read parses them. They arrive
// before the checksum at the end is checked: keep what they get aside
// until Read returns nil.
type Visitor struct {
	Platform func(file string, source []byte) error
	Record   func(key, value []byte) error // key and value are valid only during the call
}

// Read parses content against its manifest, calling v, and returns nil
// only if the whole content is there, parses, and matches m's size,
// checksum, sequence and record count.
func Read(content io.Reader, m Manifest, v Visitor) error {
	if err := m.Check(); err != nil {
		return err
	}
	vr := Verify(content, m)
	r := bufio.NewReaderSize(vr, 64<<10)
	corrupt := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, m.ID, fmt.Sprintf(format, a...))
	}
	head := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(r, head); err != nil {
		return readErr(err, corrupt("no header"))
	}
	if !bytes.Equal(head[:len(magic)], []byte(magic)) {
		return corrupt("not checkpoint content")
	}
	if head[len(magic)] != Format {
		return fmt.Errorf("%w: %s: content format %d, this build reads %d", ErrUnknownFormat, m.ID, head[len(magic)], Format)
	}
	field := func(buf []byte, limit uint64, what string) ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, readErr(err, corrupt("%s length cut", what))
		}
		if n > limit {
			return nil, corrupt("%s of %d bytes exceeds %d", what, n, limit)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, readErr(err, corrupt("%s cut", what))
		}
		return buf, nil
	}
	var key, value []byte
	var records uint64
	sawPlatform := false
	for {
		tag, err := r.ReadByte()
		if err != nil {
			return readErr(err, corrupt("no end record"))
		}
		switch {
		case tag == tagPlatform && !sawPlatform:
			file, err := field(nil, maxPlatformBytes, "platform file name")
			if err != nil {
				return err
			}
			src, err := field(nil, maxPlatformBytes, "platform source")
			if err != nil {
				return err
			}
			sawPlatform = true
			if v.Platform != nil {
				if err := v.Platform(string(file), src); err != nil {
					return err
				}
			}
		case tag == tagRecord && sawPlatform:
			if key, err = field(key, maxKeyBytes, "key"); err != nil {
				return err
			}
			if value, err = field(value, maxValueBytes, "value"); err != nil {
				return err
			}
			records++
			if v.Record != nil {
				if err := v.Record(key, value); err != nil {
					return err
				}
			}
		case tag == tagEnd && sawPlatform:
			seq, err1 := binary.ReadUvarint(r)
			n, err2 := binary.ReadUvarint(r)
			if err := errors.Join(err1, err2); err != nil {
				return readErr(err, corrupt("end record cut"))
			}
			if seq != m.Seq || n != records || n != m.Records {
				return corrupt("end record says sequence %d and %d records, the manifest %d and %d, the content holds %d", seq, n, m.Seq, m.Records, records)
			}
			// Read to the end, where Verify checks the size and checksum.
			if extra, err := io.Copy(io.Discard, r); err != nil || extra > 0 {
				return readErr(err, corrupt("%d bytes after the end record", extra))
			}
			return nil
		default:
			return corrupt("unexpected record tag %q", tag)
		}
	}
}

// readErr prefers the verifying reader's or the store's error over the
// parse error it caused.
func readErr(err, parse error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return parse
	}
	return err
}

// Verify returns a reader of content that fails with ErrCorrupt, in place
// of its end, if content is not exactly m.Size bytes with SHA-256 m.SHA256.
// Stores read a Put's content through it, so that a wrong content is never
// stored as a checkpoint.
func Verify(content io.Reader, m Manifest) io.Reader {
	return &verifier{r: content, m: m, sum: sha256.New()}
}

type verifier struct {
	r   io.Reader
	m   Manifest
	sum hash.Hash
	n   int64
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.sum.Write(p[:n])
	v.n += int64(n)
	if v.n > v.m.Size {
		return n, fmt.Errorf("%w: %s: content longer than the manifest's %d bytes", ErrCorrupt, v.m.ID, v.m.Size)
	}
	if errors.Is(err, io.EOF) {
		if v.n != v.m.Size {
			return n, fmt.Errorf("%w: %s: content of %d bytes, the manifest says %d", ErrCorrupt, v.m.ID, v.n, v.m.Size)
		}
		if got := hex.EncodeToString(v.sum.Sum(nil)); got != v.m.SHA256 {
			return n, fmt.Errorf("%w: %s: content SHA-256 %s, the manifest says %s", ErrCorrupt, v.m.ID, got, v.m.SHA256)
		}
	}
	return n, err
}
