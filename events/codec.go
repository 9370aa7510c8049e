package events

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"
)

// CodecVersion is the version of the record format Encode writes. Decode
// refuses a higher version with ErrUnknownVersion rather than guess.
const CodecVersion = 1

// Record layout, version 1 (all integers are unsigned varints unless noted):
//
//	version byte | global seq | stream seq | stream | type | schema |
//	time seconds (signed varint) | time nanos | cause | requester |
//	operation | idempotency key | payload | CRC-32C (4 bytes, little endian)
//
// Strings and the payload are length-prefixed. The checksum covers every byte
// before it, so a torn or bit-flipped record is reported, never half-read.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const crcLen = 4

var zeroUnix = time.Time{}.Unix()

// Encode appends e's record to dst and returns the extended slice.
func Encode(dst []byte, e Event) []byte {
	start := len(dst)
	dst = append(dst, CodecVersion)
	dst = binary.AppendUvarint(dst, e.GlobalSeq)
	dst = binary.AppendUvarint(dst, e.StreamSeq)
	dst = appendString(dst, e.Stream)
	dst = appendString(dst, e.Type)
	dst = binary.AppendUvarint(dst, uint64(e.Schema))
	dst = binary.AppendVarint(dst, e.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(e.Time.Nanosecond()))
	dst = appendString(dst, e.Cause)
	dst = appendString(dst, e.Requester)
	dst = appendString(dst, e.Operation)
	dst = appendString(dst, e.IdempotencyKey)
	dst = binary.AppendUvarint(dst, uint64(len(e.Payload)))
	dst = append(dst, e.Payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// AsStored returns e as Decode returns its record: Time in UTC without a
// monotonic reading, an empty Payload as nil. Logs return appended events
// (and lend them to followers) this way, so that an event is the same
// whether it comes from an append, from memory or from a read.
func AsStored(e Event) Event {
	e.Time = e.Time.UTC()
	if len(e.Payload) == 0 {
		e.Payload = nil
	}
	return e
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode parses one record. It returns an error wrapping ErrCorrupt for a
// record that is truncated or fails its checksum, and ErrUnknownVersion for a
// record from a newer codec. The returned Event does not alias rec.
func Decode(rec []byte) (Event, error) {
	if len(rec) < 1+crcLen {
		return Event{}, fmt.Errorf("%w: record of %d bytes is shorter than the smallest record", ErrCorrupt, len(rec))
	}
	body, sum := rec[:len(rec)-crcLen], binary.LittleEndian.Uint32(rec[len(rec)-crcLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		if body[0] > CodecVersion {
			return Event{}, fmt.Errorf("%w: version %d, this build reads up to %d: upgrade statemgr", ErrUnknownVersion, body[0], CodecVersion)
		}
		return Event{}, fmt.Errorf("%w: checksum %08x, record says %08x", ErrCorrupt, got, sum)
	}
	if body[0] != CodecVersion {
		if body[0] > CodecVersion {
			return Event{}, fmt.Errorf("%w: version %d, this build reads up to %d: upgrade statemgr", ErrUnknownVersion, body[0], CodecVersion)
		}
		return Event{}, fmt.Errorf("%w: version byte %d is not a known codec version", ErrCorrupt, body[0])
	}
	r := reader{buf: body[1:]}
	var e Event
	e.GlobalSeq = r.uvarint()
	e.StreamSeq = r.uvarint()
	e.Stream = r.string()
	e.Type = r.string()
	schema := r.uvarint()
	sec := r.varint()
	nsec := r.uvarint()
	e.Cause = r.string()
	e.Requester = r.string()
	e.Operation = r.string()
	e.IdempotencyKey = r.string()
	e.Payload = r.bytes()
	if r.err == nil && len(r.buf) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.buf))
	}
	if r.err == nil && (schema > 0xffff || nsec >= 1e9) {
		r.err = fmt.Errorf("field out of range (schema %d, nanos %d)", schema, nsec)
	}
	if r.err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrCorrupt, r.err)
	}
	e.Schema = uint16(schema)
	if sec != zeroUnix || nsec != 0 {
		e.Time = time.Unix(sec, int64(nsec)).UTC()
	}
	return e, nil
}

// reader parses varints and length-prefixed fields, remembering the first
// error so that Decode checks once.
type reader struct {
	buf []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = fmt.Errorf("bad varint at %d bytes from the end", len(r.buf))
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.err = fmt.Errorf("bad varint at %d bytes from the end", len(r.buf))
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// field returns the next length-prefixed field without copying it.
func (r *reader) field() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.err = fmt.Errorf("field of %d bytes with only %d left", n, len(r.buf))
		return nil
	}
	f := r.buf[:n]
	r.buf = r.buf[n:]
	return f
}

// bytes copies the next field, so the event never aliases the record.
func (r *reader) bytes() []byte {
	f := r.field()
	if len(f) == 0 {
		return nil
	}
	return append([]byte(nil), f...)
}

// string copies the next field straight into a string: one allocation.
func (r *reader) string() string { return string(r.field()) }
