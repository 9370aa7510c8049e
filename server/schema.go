package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Endpoint metadata keys, besides "kind": what `nats micro info statemgr`
// shows of each endpoint's request, so that a client (or the hostile-input
// campaign, server/campaign) can build requests without the Go types.
const (
	// MetadataRequest is the request's schema: a JSON object mapping each
	// field to its type, "string", "boolean", "integer" or "unsigned", an
	// array as a one-element list of its element's type (["string"]), an
	// object as an object of the same form.
	MetadataRequest = "request"
	// MetadataMaxBytes is the request body's size limit, in bytes.
	MetadataMaxBytes = "max_bytes"
)

// Schema type names of MetadataRequest.
const (
	SchemaString   = "string"
	SchemaBoolean  = "boolean"
	SchemaInteger  = "integer"
	SchemaUnsigned = "unsigned"
	SchemaNumber   = "number" // a JSON number, fractions allowed
)

// requestSchema renders t, a request struct, as MetadataRequest's JSON.
func requestSchema(t reflect.Type) (string, error) {
	v, err := schemaOf(t)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func schemaOf(t reflect.Type) (any, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return SchemaString, nil
	case reflect.Bool:
		return SchemaBoolean, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return SchemaInteger, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return SchemaUnsigned, nil
	case reflect.Float32, reflect.Float64:
		return SchemaNumber, nil
	case reflect.Slice:
		elem, err := schemaOf(t.Elem())
		return []any{elem}, err
	case reflect.Struct:
		fields := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				return nil, fmt.Errorf("request type %s: field %s has no json name", t, f.Name)
			}
			v, err := schemaOf(f.Type)
			if err != nil {
				return nil, err
			}
			fields[name] = v
		}
		return fields, nil
	}
	return nil, fmt.Errorf("request type %s: no schema for kind %s", t, t.Kind())
}

// metadata returns the endpoint's micro metadata: its kind, request schema
// and size limit.
func (ep endpoint) metadata() (map[string]string, error) {
	schema, err := requestSchema(ep.request)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", ep.subject, err)
	}
	return map[string]string{"kind": ep.kind, MetadataRequest: schema, MetadataMaxBytes: strconv.Itoa(ep.limit)}, nil
}
