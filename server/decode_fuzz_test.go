package server

import (
	"errors"
	"testing"
)

// checkDecoded fails unless a decoder either accepted its input or refused
// it with a catalogued error.
func checkDecoded(t *testing.T, err *Error) {
	t.Helper()
	if err == nil {
		return
	}
	if _, ok := LookupError(err.Kind.Code); !ok || err.Error() == "" {
		t.Fatalf("uncatalogued or empty error %+v", err)
	}
}

var seeds = []string{
	`{"id":"host.0"}`, `{"id":"host.0","type":"ForceRestart","operation":"op-1","wait":"30s"}`,
	`{"id":"bmc.0","enable":true}`, `{"id":"bmc.0","enable":"yes"}`, `{"from":10,"limit":5,"filter":{"kind":"host"}}`,
	`{"id":`, `[]`, `null`, ``, `{"id":"host.0"} x`, `{"id":"chassis.0","colour":1}`, `"host.0"`, `{"id":"host.0","wait":"-1s"}`,
	`{"id":"service.a.b"}`, `{"operation":"a b"}`, `{"id":"host.0\u0000"}`,
}

func FuzzDecodeRequestControl(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decode[ControlRequest](data)
		checkDecoded(t, err)
		if err != nil {
			return
		}
		for _, cs := range controlSubjects {
			if id, err := componentID(req.ID, cs.kind); err == nil {
				if id.Kind() != cs.kind {
					t.Fatalf("%s accepted %s", cs.subject, id)
				}
			} else {
				checkDecoded(t, err)
			}
			_, err := cs.requestType(req.Type)
			checkDecoded(t, err)
		}
		checkDecoded(t, operationID(req.Operation))
		if d, err := waitDuration(req.Wait); err == nil && (d < 0 || d > MaxWait) {
			t.Fatalf("wait %q accepted as %v", req.Wait, d)
		} else {
			checkDecoded(t, err)
		}
	})
}

func FuzzDecodeRequestMaintenance(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decode[MaintenanceRequest](data)
		checkDecoded(t, err)
		if err == nil {
			_, err = componentID(req.ID, "bmc")
			checkDecoded(t, err)
		}
	})
}

func FuzzDecodeRequestReplay(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decode[ReplayRequest](data)
		checkDecoded(t, err)
		if err != nil {
			return
		}
		if limit, err := pageLimit(req.Limit, defaultReplayLimit, maxReplayLimit); err == nil && (limit < 1 || limit > maxReplayLimit) {
			t.Fatalf("limit %d accepted as %d", req.Limit, limit)
		} else {
			checkDecoded(t, err)
		}
		checkDecoded(t, kindName(req.Filter.Kind))
	})
}

func FuzzDecodeRequestHistory(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decode[HistoryRequest](data)
		checkDecoded(t, err)
		if err == nil {
			_, err = componentID(req.ID, "")
			checkDecoded(t, err)
		}
	})
}

func TestDecodeRefusesWithCatalogueErrors(t *testing.T) {
	cases := map[string]*ErrorKind{
		`{"id":`:                 ErrBadRequest,
		`[]`:                     ErrBadRequest,
		`{"id":"x","y":1}`:       ErrUnknownField,
		`{"id":1}`:               ErrBadRequest,
		`{"id":"host.0"} {}`:     ErrBadRequest,
		"{\"id\":\"h\xff\"}\x00": ErrBadRequest,
	}
	for in, want := range cases {
		_, err := decode[IDRequest]([]byte(in))
		if err == nil || !errors.Is(err, want) {
			t.Errorf("decode(%q) = %v, want %s", in, err, want.Constant)
		}
	}
	if req, err := decode[IDRequest](nil); err != nil || req.ID != "" {
		t.Errorf("empty body: %+v, %v", req, err)
	}
}
