package actors_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// sameRecord reports the first field where got differs from want, walking
// every field so that a field added to machine.Event or machine.Status is
// compared without touching this test. Times must be the same instant in the
// same zone offset (the monotonic reading and the zone's name do not survive
// the log, as with JSON).
func sameRecord(want, got actors.Record) error {
	return sameValue("record", reflect.ValueOf(want), reflect.ValueOf(got))
}

var timeType = reflect.TypeFor[time.Time]()

func sameValue(path string, want, got reflect.Value) error {
	if want.Type() == timeType {
		w, g := want.Interface().(time.Time), got.Interface().(time.Time)
		_, wo := w.Zone()
		_, gotOff := g.Zone()
		if !w.Equal(g) || (!w.IsZero() && wo != gotOff) || w.IsZero() != g.IsZero() {
			return fmt.Errorf("%s: got %v, want %v", path, g, w)
		}
		return nil
	}
	switch want.Kind() {
	case reflect.Struct:
		for i := range want.NumField() {
			if err := sameValue(path+"."+want.Type().Field(i).Name, want.Field(i), got.Field(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer:
		if want.IsNil() || got.IsNil() {
			if want.IsNil() != got.IsNil() {
				return fmt.Errorf("%s: got %v, want %v", path, got, want)
			}
			return nil
		}
		return sameValue(path, want.Elem(), got.Elem())
	case reflect.String, reflect.Uint64, reflect.Bool:
		if want.Interface() != got.Interface() {
			return fmt.Errorf("%s: got %#v, want %#v", path, got.Interface(), want.Interface())
		}
		return nil
	}
	return fmt.Errorf("%s: kind %s is not compared: extend the record codec and this test", path, want.Kind())
}

// fill sets every field reachable from v to a distinct non-zero value,
// allocating pointers, so that a field the codec forgets shows.
func fill(t testing.TB, path string, v reflect.Value, n *int) {
	*n++
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Unix(1_800_000_000+int64(*n), int64(*n)).In(time.FixedZone("", 3600*(*n%5-2)))))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, path+"."+v.Type().Field(i).Name, v.Field(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, path, v.Elem(), n)
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", path, *n))
	case reflect.Uint64:
		v.SetUint(uint64(*n) << 40)
	case reflect.Bool:
		v.SetBool(true)
	default:
		t.Fatalf("%s: kind %s cannot be filled: extend the record codec and this test", path, v.Kind())
	}
}

// roundTrip encodes and decodes r; t is a *testing.T or a *rapid.T.
func roundTrip(t interface {
	Helper()
	Fatalf(string, ...any)
}, r actors.Record) actors.Record {
	t.Helper()
	e := actors.EncodeRecord(r)
	if e.Schema != actors.RecordSchema {
		t.Fatalf("encoded with schema %d, want %d", e.Schema, actors.RecordSchema)
	}
	got, err := actors.DecodeRecord(e)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return got
}

func TestRecordRoundTripsEveryField(t *testing.T) {
	var r actors.Record
	n := 0
	fill(t, "record", reflect.ValueOf(&r).Elem(), &n)
	if err := sameRecord(r, roundTrip(t, r)); err != nil {
		t.Fatal(err)
	}
	// Each of Unsupported's flags alone, and the zero record.
	for _, u := range []machine.Unsupported{{Enable: true}, {Disable: true}, {}} {
		r.Status.Unsupported = &u
		if err := sameRecord(r, roundTrip(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sameRecord(actors.Record{}, roundTrip(t, actors.Record{})); err != nil {
		t.Fatal(err)
	}
}

var (
	jsonYear1    = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	jsonYear9999 = time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
)

func genTime(t *rapid.T, label string) time.Time {
	if rapid.Bool().Draw(t, label+" zero") {
		return time.Time{}
	}
	// Within the years JSON can write, so that TestDecodeRecordReadsJSONSchema
	// can compare with it.
	at := time.Unix(rapid.Int64Range(jsonYear1, jsonYear9999).Draw(t, label+" sec"), rapid.Int64Range(0, 999_999_999).Draw(t, label+" nsec"))
	switch rapid.IntRange(0, 2).Draw(t, label+" zone") {
	case 0:
		return at.UTC()
	case 1:
		return at.Local()
	}
	// Whole minutes, as real zones and JSON's offsets are.
	return at.In(time.FixedZone("Z", 60*rapid.IntRange(-14*60, 14*60).Draw(t, label+" offset minutes")))
}

func genRecord() *rapid.Generator[actors.Record] {
	str := rapid.String()
	return rapid.Custom(func(t *rapid.T) actors.Record {
		r := actors.Record{
			Event: machine.Event{
				Type: machine.EventType(str.Draw(t, "type")), Machine: str.Draw(t, "machine"), State: str.Draw(t, "state"),
				From: str.Draw(t, "from"), To: str.Draw(t, "to"), Trigger: str.Draw(t, "trigger"),
				Input: machine.InputKind(str.Draw(t, "input")), Cause: str.Draw(t, "cause"), Requester: str.Draw(t, "requester"),
				Operation: str.Draw(t, "operation"), Time: genTime(t, "time"), Alert: machine.AlertKind(str.Draw(t, "alert")),
				Key: str.Draw(t, "key"), Message: str.Draw(t, "message"),
			},
			Status: machine.Status{
				State: str.Draw(t, "status state"), Since: genTime(t, "since"), Cause: str.Draw(t, "status cause"),
				Transitions: rapid.Uint64().Draw(t, "transitions"), BootProgress: str.Draw(t, "boot"),
				PowerStatus: str.Draw(t, "power"), LastRebootCause: str.Draw(t, "reboot"),
			},
		}
		if rapid.Bool().Draw(t, "requested") {
			r.Status.Requested = &machine.Request{Name: str.Draw(t, "req name"), Operation: str.Draw(t, "req op"),
				Requester: str.Draw(t, "req requester"), Time: genTime(t, "req time")}
		}
		if rapid.Bool().Draw(t, "failure") {
			r.Status.Failure = &machine.Failure{What: str.Draw(t, "what"), Cause: str.Draw(t, "failure cause"), Time: genTime(t, "failure time")}
		}
		if rapid.Bool().Draw(t, "report") {
			r.Status.Report = &machine.Report{Code: machine.ServiceCode(str.Draw(t, "code")), Status: str.Draw(t, "report status"),
				Time: genTime(t, "report time")}
		}
		if rapid.Bool().Draw(t, "unsupported") {
			r.Status.Unsupported = &machine.Unsupported{Enable: rapid.Bool().Draw(t, "enable"), Disable: rapid.Bool().Draw(t, "disable")}
		}
		return r
	})
}

func TestRecordRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord().Draw(t, "record")
		if err := sameRecord(r, roundTrip(t, r)); err != nil {
			t.Fatal(err)
		}
	})
}

// Records of schema 1 (JSON) from logs written before the binary layout
// decode to what the binary layout carries.
func TestDecodeRecordReadsJSONSchema(t *testing.T) {
	old := events.Event{Stream: "host.0", StreamSeq: 9, Schema: actors.RecordSchemaJSON, Payload: []byte(
		`{"event":{"type":"transition","machine":"host","from":"Running","to":"TransitioningToOff","trigger":"GracefulShutdown",` +
			`"input":"request","cause":"request GracefulShutdown","requester":"operator:alice","operation":"op-1",` +
			`"time":"2026-11-22T01:02:03.000000004Z"},` +
			`"status":{"state":"TransitioningToOff","since":"2026-11-22T01:02:03.000000004Z","cause":"request GracefulShutdown",` +
			`"requested":{"name":"GracefulShutdown","operation":"op-1","requester":"operator:alice","time":"2026-11-22T01:02:03.000000004Z"},` +
			`"transitions":7,"boot_progress":"OSRunning"}}`)}
	got, err := actors.DecodeRecord(old)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 1, 2, 3, 4, time.UTC)
	want := actors.Record{
		Event: machine.Event{Type: machine.EventTransition, Machine: "host", From: machine.StateRunning, To: machine.StateTransitioningToOff,
			Trigger: machine.RequestGracefulShutdown, Input: machine.KindRequest, Cause: "request GracefulShutdown",
			Requester: "operator:alice", Operation: "op-1", Time: at},
		Status: machine.Status{State: machine.StateTransitioningToOff, Since: at, Cause: "request GracefulShutdown",
			Requested:   &machine.Request{Name: machine.RequestGracefulShutdown, Operation: "op-1", Requester: "operator:alice", Time: at},
			Transitions: 7, BootProgress: "OSRunning"},
	}
	if err := sameRecord(want, got); err != nil {
		t.Fatal(err)
	}
	if err := sameRecord(want, roundTrip(t, got)); err != nil {
		t.Fatalf("a JSON record re-encoded: %v", err)
	}
	// Every record the property test makes reads the same from JSON, which
	// keeps its strings: rapid.String draws valid UTF-8.
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord().Draw(t, "record")
		payload, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := actors.DecodeRecord(events.Event{Schema: actors.RecordSchemaJSON, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if err := sameRecord(fromJSON, roundTrip(t, r)); err != nil {
			t.Fatalf("binary and JSON disagree: %v", err)
		}
	})
}

func TestDecodeRecordRejectsDamage(t *testing.T) {
	var r actors.Record
	n := 0
	fill(t, "record", reflect.ValueOf(&r).Elem(), &n)
	e := actors.EncodeRecord(r)
	full := e.Payload
	for i := range len(full) {
		e.Payload = full[:i]
		if _, err := actors.DecodeRecord(e); !errors.Is(err, events.ErrCorrupt) {
			t.Fatalf("payload truncated to %d of %d bytes: %v, want ErrCorrupt", i, len(full), err)
		}
	}
	e.Payload = append(full[:len(full):len(full)], 0)
	if _, err := actors.DecodeRecord(e); !errors.Is(err, events.ErrCorrupt) {
		t.Fatalf("trailing byte: %v, want ErrCorrupt", err)
	}
	// The presence byte of the zero record is its last byte.
	zero := actors.EncodeRecord(actors.Record{})
	for _, has := range []byte{1 << 6, 1 << 7, 1 << 4, 1 << 5} {
		zero.Payload[len(zero.Payload)-1] = has
		if _, err := actors.DecodeRecord(zero); !errors.Is(err, events.ErrCorrupt) {
			t.Fatalf("presence byte %#x: %v, want ErrCorrupt", has, err)
		}
	}
	for schema, want := range map[uint16]error{0: events.ErrUnknownVersion, actors.RecordSchema + 1: events.ErrUnknownVersion} {
		if _, err := actors.DecodeRecord(events.Event{Schema: schema, Payload: full}); !errors.Is(err, want) {
			t.Errorf("schema %d: %v, want %v", schema, err, want)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	var r actors.Record
	n := 0
	fill(f, "record", reflect.ValueOf(&r).Elem(), &n)
	f.Add(actors.EncodeRecord(r).Payload)
	f.Add(actors.EncodeRecord(actors.Record{}).Payload)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := actors.DecodeRecord(events.Event{Schema: actors.RecordSchema, Payload: payload})
		if err != nil {
			if !errors.Is(err, events.ErrCorrupt) {
				t.Fatalf("untyped decode error: %v", err)
			}
			return
		}
		// Whatever decodes survives re-encoding unchanged.
		if err := sameRecord(got, roundTrip(t, got)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkRecordCodec(b *testing.B) {
	at := time.Now()
	r := actors.Record{
		Event: machine.Event{Type: machine.EventTransition, Machine: "host", From: machine.StateRunning, To: machine.StateRunning,
			Trigger: machine.RequestForceRestart, Input: machine.KindRequest, Cause: "request ForceRestart", Requester: "anonymous",
			Operation: "Zbc4Tq2uZbc4Tq2uZbc4Tq", Time: at},
		Status: machine.Status{State: machine.StateRunning, Since: at, Cause: "request ForceRestart", Transitions: 12,
			Requested: &machine.Request{Name: machine.RequestForceRestart, Operation: "Zbc4Tq2uZbc4Tq2uZbc4Tq", Requester: "anonymous", Time: at}},
	}
	jsonPayload, err := json.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			actors.EncodeRecord(r)
		}
	})
	for name, e := range map[string]events.Event{
		"decode":      actors.EncodeRecord(r),
		"decode-json": {Schema: actors.RecordSchemaJSON, Payload: jsonPayload},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := actors.DecodeRecord(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRecordSchema2StillReads: a record a schema 2 build wrote (before the
// performer was recorded) decodes with every field it had and an empty
// performer, the component's effector; re-encoded it is schema 3.
func TestRecordSchema2StillReads(t *testing.T) {
	// Written by EncodeRecord of the schema 2 build: a host's On request
	// under a coordinator step, with its Requested.
	const payload = "0a7472616e736974696f6e04686f737400034f6666165472616e736974696f6e696e67546f52756e6e696e67024f6e07726571756573740a72657175657374204f6e0e6f70657261746f723a616c6963650b6f702d3030303030312f3180a9a19a0d0000000000165472616e736974696f6e696e67546f52756e6e696e6780a9a19a0d00000a72657175657374204f6e0100000001024f6e0b6f702d3030303030312f310e6f70657261746f723a616c69636580a9a19a0d0000"
	b, err := hex.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	got, err := actors.DecodeRecord(events.Event{Schema: actors.RecordSchemaBinary, Payload: b})
	if err != nil {
		t.Fatalf("schema 2 record: %v", err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	want := actors.Record{
		Event: machine.Event{Type: machine.EventTransition, Machine: "host", From: "Off", To: "TransitioningToRunning", Trigger: "On",
			Input: machine.KindRequest, Cause: "request On", Requester: "operator:alice", Operation: "op-000001/1", Time: at},
		Status: machine.Status{State: "TransitioningToRunning", Since: at, Cause: "request On", Transitions: 1,
			Requested: &machine.Request{Name: "On", Operation: "op-000001/1", Requester: "operator:alice", Time: at}},
	}
	if err := sameRecord(got, want); err != nil {
		t.Fatal(err)
	}
	if e := actors.EncodeRecord(got); e.Schema != actors.RecordSchema {
		t.Fatalf("re-encoded as schema %d, want %d", e.Schema, actors.RecordSchema)
	}
	// The schema 3 layout has two more strings, so a schema 2 payload read
	// as schema 3 is corrupt, never misread.
	if _, err := actors.DecodeRecord(events.Event{Schema: actors.RecordSchema, Payload: b}); !errors.Is(err, events.ErrCorrupt) {
		t.Fatalf("schema 2 payload read as schema 3: %v, want ErrCorrupt", err)
	}
}
