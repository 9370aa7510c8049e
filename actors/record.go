package actors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// Schemas of Record payloads, in the event envelope's Schema field.
// EncodeRecord writes RecordSchema; DecodeRecord reads every schema here,
// so that logs written by older builds still replay.
const (
	// RecordSchemaJSON is the JSON of Record, written by builds before the
	// binary layout.
	RecordSchemaJSON = 1
	// RecordSchema is the binary layout below: JSON cost a component about
	// a third of its CPU per request (encoding, decoding, and growing the
	// goroutine stacks that ran it).
	RecordSchemaBinary = 2
	// RecordSchema is the binary layout with the performer of the effects
	// (Event.PerformedBy, Request.PerformedBy); a schema 2 record reads
	// with both empty (the component's effector).
	RecordSchema = 3
)

// Record layout, schema 3 (schema 2 lacks both performed_by). Strings are length-prefixed (uvarint), counts
// are uvarints, a time is its Unix seconds (varint), nanoseconds (uvarint)
// and zone offset in seconds (varint); the zero time is written as
// time.Time{}.Unix(), 0, 0 and read back as time.Time{}. The envelope's checksum covers the payload.
//
//	event:  type | machine | state | from | to | trigger | input | cause |
//	        requester | operation | time | alert | key | message |
//	        performed_by
//	status: state | since | cause | transitions | boot_progress |
//	        power_status | last_reboot_cause | presence byte (recordHas*) |
//	        requested (name | operation | requester | time |
//	        performed_by), if present |
//	        failure (what | cause | time), if present |
//	        report (code | status | time), if present
//
// Unsupported's two booleans live in the presence byte. Any other bit of it
// set is corruption: a new field needs a new schema.
const (
	recordHasRequested = 1 << iota
	recordHasFailure
	recordHasReport
	recordHasUnsupported
	recordUnsupportedEnable
	recordUnsupportedDisable
	recordHasAll = 1<<iota - 1
)

var zeroUnix = time.Time{}.Unix()

// EncodeRecord turns r into a log event for stream id.
func EncodeRecord(r Record) events.Event {
	return events.Event{
		Type:      string(r.Event.Type),
		Schema:    RecordSchema,
		Time:      r.Event.Time,
		Cause:     r.Event.Cause,
		Requester: r.Event.Requester,
		Operation: r.Event.Operation,
		Payload:   appendRecord(make([]byte, 0, recordSizeHint(r)), r),
	}
}

// recordSizeHint is at least the encoded size of r unless a string is
// longer than 127 bytes, so that encoding allocates once: the strings, a
// byte for each of their 27 length prefixes, up to 20 bytes for each of the
// 5 times, 10 for the transition count and the presence byte.
func recordSizeHint(r Record) int {
	e, s := &r.Event, &r.Status
	n := len(e.Type) + len(e.Machine) + len(e.State) + len(e.From) + len(e.To) + len(e.Trigger) + len(e.Input) +
		len(e.Cause) + len(e.Requester) + len(e.Operation) + len(e.Alert) + len(e.Key) + len(e.Message) + len(e.PerformedBy) +
		len(s.State) + len(s.Cause) + len(s.BootProgress) + len(s.PowerStatus) + len(s.LastRebootCause)
	if q := s.Requested; q != nil {
		n += len(q.Name) + len(q.Operation) + len(q.Requester) + len(q.PerformedBy)
	}
	if f := s.Failure; f != nil {
		n += len(f.What) + len(f.Cause)
	}
	if rep := s.Report; rep != nil {
		n += len(rep.Code) + len(rep.Status)
	}
	return n + 27 + 5*20 + 10 + 1
}

func appendRecord(b []byte, r Record) []byte {
	e := &r.Event
	b = appendString(b, string(e.Type))
	b = appendString(b, e.Machine)
	b = appendString(b, e.State)
	b = appendString(b, e.From)
	b = appendString(b, e.To)
	b = appendString(b, e.Trigger)
	b = appendString(b, string(e.Input))
	b = appendString(b, e.Cause)
	b = appendString(b, e.Requester)
	b = appendString(b, e.Operation)
	b = appendTime(b, e.Time)
	b = appendString(b, string(e.Alert))
	b = appendString(b, e.Key)
	b = appendString(b, e.Message)
	b = appendString(b, string(e.PerformedBy))

	s := &r.Status
	b = appendString(b, s.State)
	b = appendTime(b, s.Since)
	b = appendString(b, s.Cause)
	b = binary.AppendUvarint(b, s.Transitions)
	b = appendString(b, s.BootProgress)
	b = appendString(b, s.PowerStatus)
	b = appendString(b, s.LastRebootCause)
	var has byte
	if s.Requested != nil {
		has |= recordHasRequested
	}
	if s.Failure != nil {
		has |= recordHasFailure
	}
	if s.Report != nil {
		has |= recordHasReport
	}
	if u := s.Unsupported; u != nil {
		has |= recordHasUnsupported
		if u.Enable {
			has |= recordUnsupportedEnable
		}
		if u.Disable {
			has |= recordUnsupportedDisable
		}
	}
	b = append(b, has)
	if q := s.Requested; q != nil {
		b = appendString(b, q.Name)
		b = appendString(b, q.Operation)
		b = appendString(b, q.Requester)
		b = appendTime(b, q.Time)
		b = appendString(b, string(q.PerformedBy))
	}
	if f := s.Failure; f != nil {
		b = appendString(b, f.What)
		b = appendString(b, f.Cause)
		b = appendTime(b, f.Time)
	}
	if rep := s.Report; rep != nil {
		b = appendString(b, string(rep.Code))
		b = appendString(b, rep.Status)
		b = appendTime(b, rep.Time)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	if t.IsZero() {
		offset = 0
	}
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(offset))
}

// DecodeRecord reads a component record from a log event. A payload that
// does not parse is an error wrapping events.ErrCorrupt; a schema this
// build does not know, events.ErrUnknownVersion.
func DecodeRecord(e events.Event) (Record, error) {
	var r Record
	var err error
	switch e.Schema {
	case RecordSchemaBinary, RecordSchema:
		r, err = decodeRecord(e.Payload, e.Schema)
	case RecordSchemaJSON:
		err = json.Unmarshal(e.Payload, &r)
	default:
		return Record{}, fmt.Errorf("%w: %s event %d has record schema %d, this build reads up to %d: upgrade statemgr",
			events.ErrUnknownVersion, e.Stream, e.StreamSeq, e.Schema, RecordSchema)
	}
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s event %d: %w", events.ErrCorrupt, e.Stream, e.StreamSeq, err)
	}
	return r, nil
}

func decodeRecord(payload []byte, schema uint16) (Record, error) {
	// Every string of the record is a substring of one copy of the payload:
	// one allocation instead of one per field.
	d := recordReader{b: payload, s: string(payload)}
	var r Record
	e := &r.Event
	e.Type = machine.EventType(d.string())
	e.Machine = d.string()
	e.State = d.string()
	e.From = d.string()
	e.To = d.string()
	e.Trigger = d.string()
	e.Input = machine.InputKind(d.string())
	e.Cause = d.string()
	e.Requester = d.string()
	e.Operation = d.string()
	e.Time = d.time()
	e.Alert = machine.AlertKind(d.string())
	e.Key = d.string()
	e.Message = d.string()
	if schema >= RecordSchema {
		e.PerformedBy = machine.Performer(d.string())
	}

	s := &r.Status
	s.State = d.string()
	s.Since = d.time()
	s.Cause = d.string()
	s.Transitions = d.uvarint()
	s.BootProgress = d.string()
	s.PowerStatus = d.string()
	s.LastRebootCause = d.string()
	has := d.byte()
	if has&^recordHasAll != 0 {
		d.fail(fmt.Errorf("unknown presence bits %#x", has&^recordHasAll))
	}
	if has&recordHasRequested != 0 {
		s.Requested = &machine.Request{Name: d.string(), Operation: d.string(), Requester: d.string(), Time: d.time()}
		if schema >= RecordSchema {
			s.Requested.PerformedBy = machine.Performer(d.string())
		}
	}
	if has&recordHasFailure != 0 {
		s.Failure = &machine.Failure{What: d.string(), Cause: d.string(), Time: d.time()}
	}
	if has&recordHasReport != 0 {
		s.Report = &machine.Report{Code: machine.ServiceCode(d.string()), Status: d.string(), Time: d.time()}
	}
	if has&recordHasUnsupported != 0 {
		s.Unsupported = &machine.Unsupported{Enable: has&recordUnsupportedEnable != 0, Disable: has&recordUnsupportedDisable != 0}
	} else if has&(recordUnsupportedEnable|recordUnsupportedDisable) != 0 {
		d.fail(errors.New("unsupported actions set without an unsupported status"))
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)-d.off))
	}
	if d.err != nil {
		return Record{}, d.err
	}
	return r, nil
}

// recordReader reads a binary payload: numbers from b, strings as
// substrings of s (the same bytes), keeping the first error so that
// decodeRecord checks once.
type recordReader struct {
	b   []byte
	s   string
	off int
	err error
}

func (d *recordReader) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("record payload at byte %d: %w", d.off, err)
	}
}

func (d *recordReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

func (d *recordReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

func (d *recordReader) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(errors.New("truncated"))
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *recordReader) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(fmt.Errorf("string of %d bytes with only %d left", n, len(d.b)-d.off))
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// maxZoneOffset bounds a zone offset: real ones are within ±14 hours.
const maxZoneOffset = 24 * 60 * 60

func (d *recordReader) time() time.Time {
	sec, nsec, offset := d.varint(), d.uvarint(), d.varint()
	switch {
	case d.err != nil:
		return time.Time{}
	case nsec >= 1e9 || offset <= -maxZoneOffset || offset >= maxZoneOffset:
		d.fail(fmt.Errorf("time out of range (nanoseconds %d, zone offset %d)", nsec, offset))
		return time.Time{}
	case sec == zeroUnix && nsec == 0:
		return time.Time{} // whatever its zone, as appendTime writes it
	}
	return inZone(time.Unix(sec, int64(nsec)), int(offset))
}

// inZone gives t the zone JSON decoding would: UTC, Local when its offset
// at t matches, or an unnamed fixed zone.
func inZone(t time.Time, offset int) time.Time {
	if offset == 0 {
		return t.UTC()
	}
	if local := t.In(time.Local); localOffset(local) == offset {
		return local
	}
	return t.In(time.FixedZone("", offset))
}

func localOffset(t time.Time) int { _, off := t.Zone(); return off }
