package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
)

// decode reads a request body into a T: one JSON object (an empty body or
// null counts as {}), no unknown fields, nothing after it. Every failure is an
// *Error of the catalogue; decode never panics.
func decode[T any](data []byte) (T, *Error) {
	var v T
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return v, nil
	}
	if trimmed[0] != '{' {
		return v, newError(ErrBadRequest, "request body must be a JSON object, got %s", describeJSON(trimmed))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var v0 T
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return v0, &Error{Kind: ErrUnknownField, Message: "unknown field " + field, Err: err}
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return v0, &Error{Kind: ErrBadRequest, Message: "field \"" + typeErr.Field + "\" must be " + jsonType(typeErr.Type.Kind().String()) + ", got " + typeErr.Value, Err: err}
		}
		return v0, &Error{Kind: ErrBadRequest, Message: "malformed JSON: " + err.Error(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		var v0 T
		return v0, newError(ErrBadRequest, "request body must hold one JSON object and nothing after it")
	}
	return v, nil
}

// describeJSON names what a non-object body starts with.
func describeJSON(b []byte) string {
	switch b[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		if b[0] == '-' || (b[0] >= '0' && b[0] <= '9') {
			return "a number"
		}
		return "something that is not JSON"
	}
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	default:
		return "a number"
	}
}

// componentID checks a request's "id": present, well formed, of kind (any
// kind when kind is empty).
func componentID(raw, kind string) (actors.ID, *Error) {
	if raw == "" {
		return "", newError(ErrBadRequest, `missing "id": name the component, e.g. {"id":"%s.0"}`, defaultKind(kind))
	}
	id, err := actors.ParseID(raw)
	if err != nil {
		return "", &Error{Kind: ErrBadID, Message: err.Error(), Err: err}
	}
	if kind != "" && id.Kind() != kind {
		return "", newError(ErrWrongKind, "%s is a %s, this subject serves %s components", id, id.Kind(), kind)
	}
	return id, nil
}

func defaultKind(kind string) string {
	if kind == "" {
		return actors.KindHost
	}
	return kind
}

// maxOperationLen bounds a client's operation id: it becomes part of the
// log's idempotency keys.
const maxOperationLen = 128

// operationID checks a client's operation id: printable ASCII without
// spaces, at most maxOperationLen bytes. Empty means "generate one".
func operationID(op string) *Error {
	if len(op) > maxOperationLen {
		return newError(ErrBadRequest, `"operation" is %d bytes, at most %d`, len(op), maxOperationLen)
	}
	if i := strings.IndexFunc(op, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		return newError(ErrBadRequest, `"operation" has a forbidden character at byte %d: use printable ASCII without spaces`, i)
	}
	return nil
}

// waitDuration parses a control request's "wait": empty is no wait.
func waitDuration(w string) (time.Duration, *Error) {
	if w == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil || d <= 0 || d > MaxWait {
		return 0, newError(ErrBadRequest, `"wait" must be a positive duration up to %v such as "30s", got %q`, MaxWait, w)
	}
	return d, nil
}

// kindName checks an optional kind filter.
func kindName(k string) *Error {
	switch k {
	case "", actors.KindHost, actors.KindChassis, actors.KindBMC, actors.KindService:
		return nil
	}
	return newError(ErrBadRequest, `"kind" %q is not one of host, chassis, bmc, service`, k)
}
