package events_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/events"
)

func genEvent() *rapid.Generator[events.Event] {
	return rapid.Custom(func(t *rapid.T) events.Event {
		e := events.Event{
			GlobalSeq:      rapid.Uint64().Draw(t, "global"),
			Stream:         rapid.StringMatching(`[a-z]{1,8}\.[0-9]{1,3}`).Draw(t, "stream"),
			StreamSeq:      rapid.Uint64().Draw(t, "seq"),
			Type:           rapid.String().Draw(t, "type"),
			Schema:         rapid.Uint16().Draw(t, "schema"),
			Cause:          rapid.String().Draw(t, "cause"),
			Requester:      rapid.String().Draw(t, "requester"),
			Operation:      rapid.String().Draw(t, "operation"),
			IdempotencyKey: rapid.String().Draw(t, "key"),
			Payload:        rapid.SliceOf(rapid.Byte()).Draw(t, "payload"),
		}
		if len(e.Payload) == 0 {
			e.Payload = nil
		}
		if rapid.Bool().Draw(t, "timed") {
			e.Time = time.Unix(rapid.Int64Range(-1<<40, 1<<40).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "nsec")).UTC()
		}
		return e
	})
}

func TestCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEvent().Draw(t, "event")
		got, err := events.Decode(events.Encode(nil, e))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", got, e)
		}
	})
}

func TestCodecRejectsDamage(t *testing.T) {
	rec := events.Encode(nil, events.Event{GlobalSeq: 7, Stream: "host.0", StreamSeq: 3, Type: "transition", Schema: 1,
		Time: time.Unix(1700000000, 0), Cause: "request", Payload: []byte(`{"from":"Off","to":"TransitioningToRunning"}`)})
	for n := 0; n < len(rec); n++ {
		if _, err := events.Decode(rec[:n]); !errors.Is(err, events.ErrCorrupt) {
			t.Fatalf("record truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
	for i := range rec {
		for bit := 0; bit < 8; bit++ {
			bad := append([]byte(nil), rec...)
			bad[i] ^= 1 << bit
			_, err := events.Decode(bad)
			if !errors.Is(err, events.ErrCorrupt) && !errors.Is(err, events.ErrUnknownVersion) {
				t.Fatalf("bit %d of byte %d flipped: %v, want a typed error", bit, i, err)
			}
		}
	}
}

func TestCodecRefusesFutureVersion(t *testing.T) {
	// A record from a newer codec, with a valid checksum over its bytes.
	future := events.Encode(nil, events.Event{Type: "x", Schema: 1})
	future[0] = events.CodecVersion + 1
	if _, err := events.Decode(future); !errors.Is(err, events.ErrUnknownVersion) {
		t.Fatalf("future codec version: %v, want ErrUnknownVersion", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(events.Encode(nil, events.Event{GlobalSeq: 1, Stream: "host.0", StreamSeq: 1, Type: "transition", Schema: 1, Payload: []byte("{}")}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, rec []byte) {
		e, err := events.Decode(rec)
		if err != nil {
			if !errors.Is(err, events.ErrCorrupt) && !errors.Is(err, events.ErrUnknownVersion) {
				t.Fatalf("untyped decode error: %v", err)
			}
			return
		}
		// Whatever decodes must encode back to the same bytes.
		if again := events.Encode(nil, e); string(again) != string(rec) {
			t.Fatalf("decoded record does not re-encode to itself")
		}
	})
}

func TestValidateStream(t *testing.T) {
	for _, ok := range []string{"host.0", "service.sync-agent", "saga.7f3a"} {
		if err := events.ValidateStream(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "host 0", "host.*", "host.>", "h\x00st", "hóst", string(make([]byte, events.MaxStreamLen+1))} {
		if err := events.ValidateStream(bad); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExpected(t *testing.T) {
	if !events.AnyVersion().Matches(9) || !events.NoStream().Matches(0) || events.NoStream().Matches(1) ||
		!events.ExpectVersion(4).Matches(4) || events.ExpectVersion(4).Matches(5) {
		t.Fatal("Expected.Matches disagrees with its definition")
	}
}

func TestAsStoredIsWhatDecodeReturns(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEvent().Draw(t, "event")
		if rapid.Bool().Draw(t, "local time with a monotonic reading") {
			e.Time = time.Now().Local()
		}
		if rapid.Bool().Draw(t, "empty payload") {
			e.Payload = []byte{}
		}
		got, err := events.Decode(events.Encode(nil, e))
		if err != nil {
			t.Fatal(err)
		}
		if want := events.AsStored(e); !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, AsStored %+v", got, want)
		}
	})
}
