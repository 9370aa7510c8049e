package server

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeRefusesRepeatedFields: a repeated key is refused on every
// request type, at the top and in nested objects, escaped spellings
// included; before, the last one won ({"id":"host.0","id":"host.1"} acted
// on host.1). (issue 23 item 11)
func TestDecodeRefusesRepeatedFields(t *testing.T) {
	for _, body := range []string{
		`{"id":"host.0","id":"host.1"}`,
		`{"id":"host.0", "id" : "host.0"}`,
		`{"id":"host.0","\u0069d":"host.1"}`,
		`{"id":"host.0","type":"On","id":"host.1"}`,
	} {
		if _, err := decodeErr[IDRequest](body); !errors.Is(err, ErrDuplicateField) || !strings.Contains(err.Error(), `"id"`) {
			t.Errorf("IDRequest %s: %v, want ErrDuplicateField naming \"id\"", body, err)
		}
		if _, err := decodeErr[ControlRequest](body); !errors.Is(err, ErrDuplicateField) {
			t.Errorf("ControlRequest %s: %v, want ErrDuplicateField", body, err)
		}
	}
	_, err := decodeErr[ReplayRequest](`{"filter":{"kind":"host","kind":"bmc"}}`)
	if !errors.Is(err, ErrDuplicateField) || !strings.Contains(err.Error(), `"filter.kind"`) {
		t.Errorf("nested repeat: %v, want ErrDuplicateField naming \"filter.kind\"", err)
	}
	if _, err := decode[ControlRequest]([]byte(`{"id":"host.0","override":["thermal","thermal"],"queue":true}`)); err != nil {
		t.Errorf("a repeated array element is no repeated field: %v", err)
	}
}

// TestDecodeRefusesWrongCaseFields: encoding/json matches field names
// case-insensitively (Unicode folding included); decode takes only the
// documented spelling and names it. (issue 15 item 2)
func TestDecodeRefusesWrongCaseFields(t *testing.T) {
	cases := []struct{ body, wrong, right string }{
		{`{"ID":"bmc.0"}`, `"ID"`, `"id"`},
		{`{"Id":"bmc.0","operation":"o"}`, `"Id"`, `"id"`},
		{`{"id":"bmc.0","Enable":true}`, `"Enable"`, `"enable"`},
		{`{"filter":{"KIND":"host"}}`, `"filter.KIND"`, `"filter.kind"`},
		{`{"\u017Fource":"x = 1"}`, "\"\u017Fource\"", `"source"`}, // ſ folds to s
	}
	for _, tc := range cases {
		var err error
		switch {
		case strings.Contains(tc.body, "filter"):
			_, err = decodeErr[ReplayRequest](tc.body)
		case strings.Contains(tc.body, "ource"):
			_, err = decodeErr[ValidateRequest](tc.body)
		case strings.Contains(tc.body, "Enable"):
			_, err = decodeErr[MaintenanceRequest](tc.body)
		default:
			_, err = decodeErr[ControlRequest](tc.body)
		}
		if !errors.Is(err, ErrUnknownField) || !strings.Contains(err.Error(), tc.wrong) || !strings.Contains(err.Error(), "spelled "+tc.right) {
			t.Errorf("%s: %v, want ErrUnknownField naming %s and %s", tc.body, err, tc.wrong, tc.right)
		}
	}
}

// TestDecodeBoundsNestingAndValues: bodies within MaxRequestSize that nest
// past MaxJSONDepth or hold more than MaxJSONValues values are refused
// ErrTooComplex before encoding/json decodes them; bodies at the limits
// pass the check. (issue 15 item 1)
func TestDecodeBoundsNestingAndValues(t *testing.T) {
	nested := func(depth int) string {
		return `{"override":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
	}
	values := func(n int) string { // the object, the array and n-2 elements
		return `{"override":[` + strings.TrimSuffix(strings.Repeat(`"x",`, n-2), ",") + `]}`
	}
	refused := []string{
		nested(MaxJSONDepth + 1),
		`{"id":` + strings.Repeat("[", MaxRequestSize/2-10) + strings.Repeat("]", MaxRequestSize/2-10) + `}`,
		`{"id":` + strings.Repeat(`{"a":`, MaxRequestSize/7) + "1" + strings.Repeat("}", MaxRequestSize/7) + `}`,
		values(MaxJSONValues + 1),
		`{"override":[` + strings.TrimSuffix(strings.Repeat("1,", MaxRequestSize/2-20), ",") + `]}`,
		manyMembers(MaxJSONValues),
	}
	for _, body := range refused {
		if len(body) > MaxRequestSize {
			t.Fatalf("test body of %d bytes is past MaxRequestSize", len(body))
		}
		if _, err := decodeErr[ControlRequest](body); !errors.Is(err, ErrTooComplex) {
			t.Errorf("%.60s... (%d bytes): %v, want ErrTooComplex", body, len(body), err)
		}
	}
	for _, body := range []string{nested(MaxJSONDepth), values(MaxJSONValues)} {
		if err := checkShape([]byte(body), nil); err != nil {
			t.Errorf("%.60s...: %v, want it within the limits", body, err)
		}
	}
}

// TestCheckShapeLeavesMalformedBodiesToTheDecoder: on malformed JSON
// checkShape stops without a verdict, and decode still answers with a
// catalogued error.
func TestCheckShapeLeavesMalformedBodiesToTheDecoder(t *testing.T) {
	for _, body := range []string{`{`, `{"id`, `{"id":`, `{"id" "x"}`, `{"id":"x",`, `{"a":[1,}`, `{"a":[1 2]}`, `{,}`, `{"a":"\`, `{"a":}`, `{"a":[}`} {
		if err := checkShape([]byte(body), nil); err != nil {
			t.Errorf("checkShape(%q) = %v, want no verdict", body, err)
		}
		if _, err := decode[ControlRequest]([]byte(body)); err == nil {
			t.Errorf("decode(%q) accepted it", body)
		}
	}
}

// FuzzCheckShape: no body makes checkShape panic, and whatever passes it
// and decodes is within the limits.
func FuzzCheckShape(f *testing.F) {
	for _, s := range append(seeds, `{"filter":{"kind":"host","kind":"x"}}`, `{"ID":1}`, `{"a":[[[[[[[[[]]]]]]]]]}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = checkShape(data, nil)
		if _, err := decode[ReplayRequest](data); err != nil {
			checkDecoded(t, err)
		}
	})
}

// manyMembers is an object of n distinct members.
func manyMembers(n int) string {
	members := make([]string, n)
	for i := range members {
		members[i] = `"k` + strconv.Itoa(i) + `":1`
	}
	return "{" + strings.Join(members, ",") + "}"
}

// decodeErr is decode with its *Error as an error, nil when there is none.
func decodeErr[T any](body string) (T, error) {
	v, err := decode[T]([]byte(body))
	if err == nil {
		return v, nil
	}
	return v, err
}
