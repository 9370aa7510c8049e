package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
)

// decode reads a request body into a T: one JSON object (an empty body or
// null counts as {}), no unknown fields, field names spelled exactly, none
// repeated, within MaxJSONDepth and MaxJSONValues (checkShape), nothing
// after it. Every failure is an *Error of the catalogue; decode never
// panics.
func decode[T any](data []byte) (T, *Error) {
	var v T
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return v, nil
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return v, newError(ErrBadRequest, "request body is not JSON: %s", excerpt(trimmed))
		}
		return v, newError(ErrBadRequest, "request body must be a JSON object, got %s", describeJSON(trimmed))
	}
	if decodeFlat(trimmed, &v) {
		return v, nil
	}
	if err := checkShape(trimmed, reflect.TypeFor[T]()); err != nil {
		return v, err
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

// decodeFlat decodes the common shape of a request body without
// encoding/json, whose reflection and scanning (and the stack it grows on
// a request's fresh goroutine) cost a twentieth of a control request's
// CPU: an object of ASCII strings without escapes, under keys spelled
// exactly as the json tags of *v's string fields. It reports false, having
// written nothing, for anything else (a key of a field of another type
// and a repeated key included), which decode then hands to checkShape and
// encoding/json: so every body
// decodes to what encoding/json makes of it (FuzzDecodeFlatAgreesWithJSON
// checks it).
func decodeFlat[T any](obj []byte, v *T) bool {
	fields := flatFieldsOf(reflect.TypeFor[T]())
	if fields == nil {
		return false
	}
	var values [maxFlatFields]string
	var set [maxFlatFields]bool
	p := flatParser{b: obj, i: 1}
	p.space()
	if !p.next('}') {
		for {
			key, ok := p.str()
			if !ok {
				return false
			}
			field, known := fields[string(key)]
			if !known || field == notFlat {
				return false
			}
			p.space()
			if !p.next(':') {
				return false
			}
			p.space()
			val, ok := p.str()
			if !ok {
				return false
			}
			if set[field] {
				return false // a repeated key: checkShape refuses it
			}
			values[field], set[field] = string(val), true
			p.space()
			if p.next('}') {
				break
			}
			if !p.next(',') {
				return false
			}
			p.space()
		}
	}
	if p.i != len(obj) {
		return false
	}
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		if set[i] {
			rv.Field(i).SetString(values[i])
		}
	}
	return true
}

// maxFlatFields bounds the request types decodeFlat handles.
const maxFlatFields = 8

var flatFields sync.Map // reflect.Type -> map[string]int, nil if not flat

// notFlat marks a field that is not a string: a body naming it goes to
// encoding/json.
const notFlat = -1

// flatFieldsOf maps the json names of t's string fields to their indexes
// and those of its other fields to notFlat, or returns nil unless t is a
// struct of at most maxFlatFields exported fields, each tagged with a name
// and at most omitempty.
func flatFieldsOf(t reflect.Type) map[string]int {
	if f, ok := flatFields.Load(t); ok {
		return f.(map[string]int)
	}
	fields := map[string]int{}
	if t.Kind() != reflect.Struct || t.NumField() > maxFlatFields {
		fields = nil
	} else {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || f.Anonymous || name == "" || name == "-" || (opts != "" && opts != "omitempty") {
				fields = nil
				break
			}
			fields[name] = i
			if f.Type.Kind() != reflect.String {
				fields[name] = notFlat
			}
		}
	}
	flatFields.Store(t, fields)
	return fields
}

// flatParser reads the subset of JSON decodeFlat accepts.
type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *flatParser) next(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII other than backslash and returns
// its bytes.
func (p *flatParser) str() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < ' ' || c > '~' || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// excerpt quotes the start of a body for a message.
func excerpt(b []byte) string {
	const most = 32
	if len(b) > most {
		return fmt.Sprintf("%q...", b[:most])
	}
	return fmt.Sprintf("%q", b)
}

// describeJSON names the type of b, a valid JSON value other than an
// object or null.
func describeJSON(b []byte) string {
	switch b[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
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
