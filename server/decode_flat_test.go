package server

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
)

// decodeJSON decodes as decode does when decodeFlat declines.
func decodeJSON[T any](t *testing.T, data []byte) (T, bool) {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&v) != nil {
		return v, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, false
	}
	return v, true
}

// Whatever decodeFlat accepts, encoding/json accepts as the same value.
func FuzzDecodeFlatAgreesWithJSON(f *testing.F) {
	for _, s := range append(seeds, `{}`, ` { "id" : "host.0" , "type":"On" } `, `{"id":"a","id":"b"}`, `{"ID":"host.0"}`,
		`{"id":"h\u00e9"}`, `{"id":"h\\"}`, `{"id":null}`, `{"id":"x",}`, `{"id":"x"}}`, `{"wait":"1s","operation":"o"}`, `{"id":"host.0","queue":true}`, `{"override":["thermal"]}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return // decode answers these before decodeFlat
		}
		var flat ControlRequest
		if !decodeFlat(trimmed, &flat) {
			if !reflect.DeepEqual(flat, ControlRequest{}) {
				t.Fatalf("declined %q but wrote %+v", data, flat)
			}
			return
		}
		want, ok := decodeJSON[ControlRequest](t, trimmed)
		if !ok || !reflect.DeepEqual(want, flat) {
			t.Fatalf("%q: decodeFlat %+v, encoding/json %+v (ok %v)", data, flat, want, ok)
		}
	})
}

func TestDecodeFlatTypes(t *testing.T) {
	for name, flat := range map[string]bool{
		"IDRequest":                   flatFieldsOf(reflect.TypeFor[IDRequest]()) != nil,
		"SelfStateRequest":            flatFieldsOf(reflect.TypeFor[SelfStateRequest]()) != nil,
		"ControlRequest":              flatFieldsOf(reflect.TypeFor[ControlRequest]())["queue"] == notFlat,
		"Component (too many fields)": flatFieldsOf(reflect.TypeFor[Component]()) == nil,
	} {
		if !flat {
			t.Errorf("%s: flatFieldsOf disagrees", name)
		}
	}
	for body, want := range map[string]ControlRequest{
		` {"id":"host.3","type":"ForceRestart"}`:             {ID: "host.3", Type: "ForceRestart"},
		`{"id":"host.3","queue":true,"override":["health"]}`: {ID: "host.3", Queue: true, Override: []string{"health"}},
	} {
		var flat ControlRequest
		declined := !decodeFlat(bytes.TrimSpace([]byte(body)), &flat)
		req, err := decode[ControlRequest]([]byte(body))
		if err != nil || !reflect.DeepEqual(req, want) || declined != (want.Queue) {
			t.Fatalf("%s: decoded %+v, %v (flat declined: %v)", body, req, err, declined)
		}
	}
}

// TestDecodeSaysWhatTheBodyIs checks decode's message for bodies that are
// not a JSON object: malformed JSON is named as such, never by what its
// first byte would start (not json is not null).
func TestDecodeSaysWhatTheBodyIs(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`not json`, `request body is not JSON: "not json"`},
		{`nope`, `request body is not JSON: "nope"`},
		{`tru`, `request body is not JSON: "tru"`},
		{`[1,`, `request body is not JSON: "[1,"`},
		{`7x`, `request body is not JSON: "7x"`},
		{`["host.0"]`, `request body must be a JSON object, got an array`},
		{`"host.0"`, `request body must be a JSON object, got a string`},
		{`true`, `request body must be a JSON object, got a boolean`},
		{`-1.5`, `request body must be a JSON object, got a number`},
		{`{"id":`, `malformed JSON: unexpected EOF`},
	} {
		_, derr := decode[IDRequest]([]byte(tc.body))
		if derr == nil || derr.Kind != ErrBadRequest || derr.Message != tc.want {
			t.Errorf("decode(%s) = %v, want bad_request %q", tc.body, derr, tc.want)
		}
	}
}
