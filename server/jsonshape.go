package server

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Limits on a request body's JSON structure, checked by checkShape before
// encoding/json decodes it, so that what one request costs is bounded by
// its count of values, not only by its size. Request types nest two
// levels deep and take a handful of values; these leave ample room.
const (
	MaxJSONDepth  = 8   // objects and arrays open at once
	MaxJSONValues = 512 // values in one body: objects, arrays, their members and elements
)

// shapeFrame is one open object or array of checkShape.
type shapeFrame struct {
	object bool
	path   string          // "filter", "override[2]"; "" at the top
	fields *jsonFields     // an object decoded into a struct: its fields
	elem   reflect.Type    // an array's elements, a map's values
	seen   map[string]bool // an object's keys so far
	index  int             // an array's elements so far
}

// shapeState is what checkShape reads next.
type shapeState int

const (
	shapeValue shapeState = iota
	shapeKey
	shapeAfterValue
)

// checkShape refuses, before a full decode into t, a body that nests
// deeper than MaxJSONDepth or holds more than MaxJSONValues values
// (ErrTooComplex), repeats a key in one object (ErrDuplicateField: the
// decoder would keep the last, which a proxy, a log or an auditor may read
// differently), or spells a field in another case than its name
// (ErrUnknownField: encoding/json would match it case-insensitively). It
// reads the body once, iteratively, and judges no syntax: on anything
// malformed it returns nil and leaves the report to the decoder.
func checkShape(body []byte, t reflect.Type) *Error {
	var stack []shapeFrame
	values, i := 0, 0
	want, path := t, ""
	state := shapeValue
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil
		}
		switch state {
		case shapeValue:
			if values++; values > MaxJSONValues {
				return newError(ErrTooComplex, "the request body holds more than %d values (objects, arrays, members and elements)", MaxJSONValues)
			}
			switch body[i] {
			case '{', '[':
				if len(stack) == MaxJSONDepth {
					return newError(ErrTooComplex, "the request body nests objects and arrays deeper than %d levels (at %s)", MaxJSONDepth, describePath(path))
				}
				f := shapeFrame{object: body[i] == '{', path: path}
				f.fields, f.elem = shapeOf(want)
				if i = skipSpace(body, i+1); i < len(body) && body[i] == closing(f.object) {
					i, state = i+1, shapeAfterValue // empty
					break
				}
				stack = append(stack, f)
				state = shapeKey
				if !f.object {
					state, want, path = shapeValue, f.elem, path+"[0]"
				}
			case '"':
				end, ok := stringEnd(body, i)
				if !ok {
					return nil
				}
				i, state = end, shapeAfterValue
			default:
				start := i
				for i < len(body) && !strings.ContainsRune(" \t\r\n,]}:", rune(body[i])) {
					i++
				}
				if i == start {
					return nil
				}
				state = shapeAfterValue
			}
		case shapeKey:
			if body[i] != '"' {
				return nil
			}
			end, ok := stringEnd(body, i)
			if !ok {
				return nil
			}
			key, ok := unquote(body[i:end])
			if !ok {
				return nil
			}
			i = end
			top := &stack[len(stack)-1]
			path = joinPath(top.path, key)
			if top.seen[key] {
				return newError(ErrDuplicateField, "field %q appears more than once: send each field once", path)
			}
			if top.seen == nil {
				top.seen = map[string]bool{}
			}
			top.seen[key] = true
			want = top.elem
			if top.fields != nil {
				ft, known := top.fields.byName[key]
				if !known {
					if name, folded := top.fields.fold(key); folded {
						return &Error{Kind: ErrUnknownField, Message: "unknown field " + strconv.Quote(path) +
							": field names are case-sensitive; the field is spelled " + strconv.Quote(joinPath(top.path, name))}
					}
				}
				want = ft
			}
			if i = skipSpace(body, i); i >= len(body) || body[i] != ':' {
				return nil
			}
			i++
			state = shapeValue
		case shapeAfterValue:
			if len(stack) == 0 {
				return nil // the decoder judges what follows
			}
			top := &stack[len(stack)-1]
			switch body[i] {
			case ',':
				i++
				state = shapeKey
				if !top.object {
					top.index++
					state, want, path = shapeValue, top.elem, top.path+"["+strconv.Itoa(top.index)+"]"
				}
			case closing(top.object):
				stack = stack[:len(stack)-1]
				i++
			default:
				return nil
			}
		}
	}
}

// closing is the byte that ends an object or an array.
func closing(object bool) byte {
	if object {
		return '}'
	}
	return ']'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// unquote decodes a quoted key; keys with escapes ("\u0069d") go through
// encoding/json, so that they compare as the decoder will see them.
func unquote(quoted []byte) (string, bool) {
	inner := quoted[1 : len(quoted)-1]
	if !strings.ContainsRune(string(inner), '\\') {
		return string(inner), true
	}
	var s string
	return s, json.Unmarshal(quoted, &s) == nil
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func describePath(path string) string {
	if path == "" {
		return "the top"
	}
	return strconv.Quote(path)
}

// jsonFields are the fields of a struct as encoding/json names them.
type jsonFields struct {
	byName map[string]reflect.Type
}

// fold returns the field name key matches case-insensitively, as
// encoding/json would match it.
func (f *jsonFields) fold(key string) (string, bool) {
	for name := range f.byName {
		if strings.EqualFold(name, key) {
			return name, true
		}
	}
	return "", false
}

var jsonFieldsCache sync.Map // reflect.Type -> *jsonFields (nil: not checked)

// shapeOf returns what checkShape checks inside a value of type t: the
// fields of a struct, or the type of an array's elements or a map's
// values (nil when unknown).
func shapeOf(t reflect.Type) (*jsonFields, reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return nil, nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return nil, t.Elem()
	case reflect.Struct:
		return structFields(t), nil
	}
	return nil, nil
}

// structFields names t's fields as encoding/json does, or returns nil for
// a struct with embedded fields, whose names it does not follow.
func structFields(t reflect.Type) *jsonFields {
	if f, ok := jsonFieldsCache.Load(t); ok {
		return f.(*jsonFields)
	}
	fields := &jsonFields{byName: map[string]reflect.Type{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			fields = nil
			break
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields.byName[name] = f.Type
	}
	jsonFieldsCache.Store(t, fields)
	return fields
}
