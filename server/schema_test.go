package server_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/campaign"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestEndpointSchemasMatchDecoders: every endpoint in $SRV.INFO declares a
// request schema and a size limit, and each declared field is one its
// handler decodes, of the declared type: a value of another type is
// refused bad_request naming the field, never unknown_field.
func TestEndpointSchemasMatchDecoders(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t)})
	nc := env.Connect(t)
	msg, err := nc.Request("$SRV.INFO."+server.ServiceName, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	cl := client.New(nc)
	wrong := map[string]string{server.SchemaString: `1`, "array": `"x"`, "object": `"x"`}
	for _, ep := range info.Endpoints {
		schema, err := campaign.ParseSchema(ep.Metadata[server.MetadataRequest])
		if err != nil || schema.Kind != "object" {
			t.Errorf("%s: request schema %q: %v", ep.Subject, ep.Metadata[server.MetadataRequest], err)
			continue
		}
		if ep.Metadata[server.MetadataMaxBytes] == "" {
			t.Errorf("%s declares no max_bytes", ep.Subject)
		}
		subject := strings.ReplaceAll(ep.Subject, "*", "sync")
		for name, typ := range schema.Fields {
			raw, ok := wrong[typ.Kind]
			if !ok {
				raw = `"x"` // booleans and numbers
			}
			err := cl.RequestRaw(ctxT(t), subject, []byte(`{"`+name+`":`+raw+`}`), nil)
			var apiErr *server.Error
			if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrBadRequest || !strings.Contains(apiErr.Message, `"`+name+`"`) {
				t.Errorf("%s: %s = %s: %v, want bad_request naming the field", ep.Subject, name, raw, err)
			}
		}
	}
}
