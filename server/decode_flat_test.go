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
		`{"id":"h\u00e9"}`, `{"id":"h\\"}`, `{"id":null}`, `{"id":"x",}`, `{"id":"x"}}`, `{"state":"ERROR","status":"disk full"}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return // decode answers these before decodeFlat
		}
		var flat SelfStateRequest
		if !decodeFlat(trimmed, &flat) {
			if flat != (SelfStateRequest{}) {
				t.Fatalf("declined %q but wrote %+v", data, flat)
			}
			return
		}
		want, ok := decodeJSON[SelfStateRequest](t, trimmed)
		if !ok || want != flat {
			t.Fatalf("%q: decodeFlat %+v, encoding/json %+v (ok %v)", data, flat, want, ok)
		}
	})
}

func TestDecodeFlatTypes(t *testing.T) {
	for name, flat := range map[string]bool{
		"IDRequest":                         flatFieldsOf(reflect.TypeFor[IDRequest]()) != nil,
		"SelfStateRequest":                  flatFieldsOf(reflect.TypeFor[SelfStateRequest]()) != nil,
		"ControlRequest (a list, booleans)": flatFieldsOf(reflect.TypeFor[ControlRequest]()) == nil,
		"MaintenanceRequest (a *bool)":      flatFieldsOf(reflect.TypeFor[MaintenanceRequest]()) == nil,
		"ReplayRequest (numbers, a struct)": flatFieldsOf(reflect.TypeFor[ReplayRequest]()) == nil,
	} {
		if !flat {
			t.Errorf("%s: flatFieldsOf disagrees", name)
		}
	}
	req, err := decode[SelfStateRequest]([]byte(` {"state":"ERROR","status":"disk full"}`))
	if err != nil || req != (SelfStateRequest{State: "ERROR", Status: "disk full"}) {
		t.Fatalf("decoded %+v, %v", req, err)
	}
}
