package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// TestCatalogueMatchesJSON keeps errors.go and errors.json equal, entry by
// entry and in order, and the codes unique.
func TestCatalogueMatchesJSON(t *testing.T) {
	raw, err := os.ReadFile("errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		Constant    string `json:"constant"`
		Code        int    `json:"code"`
		ErrorCode   int    `json:"error_code"`
		Description string `json:"description"`
		Hint        string `json:"hint"`
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(Catalogue) {
		t.Fatalf("errors.json has %d entries, errors.go %d", len(entries), len(Catalogue))
	}
	seen := map[int]bool{}
	for i, e := range entries {
		k := Catalogue[i]
		got := ErrorKind{e.Constant, e.Code, e.ErrorCode, e.Description, e.Hint}
		if *k != got {
			t.Errorf("entry %d:\n errors.go   %+v\n errors.json %+v", i, *k, got)
		}
		if seen[e.ErrorCode] {
			t.Errorf("error_code %d used twice", e.ErrorCode)
		}
		seen[e.ErrorCode] = true
		if found, ok := LookupError(e.ErrorCode); !ok || found != k {
			t.Errorf("LookupError(%d) = %v", e.ErrorCode, found)
		}
	}
}

func TestClassify(t *testing.T) {
	rejected := &machine.RejectedError{Machine: "host", State: "Off", Request: "ForceOff", Allowed: []string{"On"}, Reason: "no", Hint: "power on first"}
	cases := []struct {
		err  error
		want *ErrorKind
	}{
		{fmt.Errorf("host.0: %w", rejected), ErrRejected},
		{fmt.Errorf("%w %q", actors.ErrUnknownComponent, "host.9"), ErrUnknownComponent},
		{fmt.Errorf("%w: x", actors.ErrUnavailable), ErrUnavailable},
		{fmt.Errorf("cannot record: %w", events.ErrNoSpace), ErrNoSpace},
		{fmt.Errorf("cannot record: %w (%w)", events.ErrNoSpace, events.ErrLogFailed), ErrLogFailed},
		{fmt.Errorf("host: %w: bad", machine.ErrInvalidInput), ErrInvalidInput},
		{errors.New("surprise"), ErrInternal},
	}
	for _, tc := range cases {
		got := classify(tc.err)
		if got.Kind != tc.want || !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("classify(%v) = %s, want %s", tc.err, got.Kind.Constant, tc.want.Constant)
		}
	}
	got := classify(rejected)
	if got.State != "Off" || len(got.Allowed) != 1 || got.EffectiveHint() != "power on first" {
		t.Errorf("rejection lost its details: %+v", got)
	}
	if ErrUnknownComponent.Name() != "unknown_component" || ErrBadID.Name() != "bad_id" {
		t.Errorf("names: %s, %s", ErrUnknownComponent.Name(), ErrBadID.Name())
	}
}
