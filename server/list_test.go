package server_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestListsInterleavedAcrossClients sends different clients' list requests
// at once, each narrowing to another kind (or none): every reply must hold
// exactly the kinds its own request asked for, so no request leaks into
// another's. Run under -race, it also catches handler state shared between
// requests.
func TestListsInterleavedAcrossClients(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t)})
	ctx := ctxT(t)
	all := map[string]int{}
	for _, id := range env.System.IDs() {
		all[id.Kind()]++
	}
	type ask struct {
		subject, kind string
		want          map[string]int // kind -> count; nil: refused wrong_kind
	}
	only := func(kind string) map[string]int { return map[string]int{kind: all[kind]} }
	asks := []ask{
		{server.SubjectComponentsList, "chassis", only("chassis")},
		{server.SubjectComponentsList, "", all},
		{server.SubjectComponentsList, "host", only("host")},
		{server.SubjectComponentsList, "service", only("service")},
		{server.SubjectHostsList, "", only("host")},
		{server.SubjectHostsList, "host", only("host")},
		{server.SubjectHostsList, "chassis", nil},
		{server.SubjectServicesList, "", only("service")},
	}
	const rounds = 20
	var wg sync.WaitGroup
	errs := make(chan error, len(asks)*rounds)
	for _, a := range asks {
		cl := client.New(env.Connect(t)) // one client per kind of request
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				var list server.ComponentList
				err := cl.Request(ctx, a.subject, server.ListRequest{Kind: a.kind}, &list)
				if a.want == nil {
					var apiErr *server.Error
					if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrWrongKind {
						errs <- fmt.Errorf("%s %q: got %v, want wrong_kind", a.subject, a.kind, err)
					}
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("%s %q: %w", a.subject, a.kind, err)
					continue
				}
				got := map[string]int{}
				for _, c := range list.Components {
					got[c.Kind]++
				}
				if fmt.Sprint(got) != fmt.Sprint(a.want) {
					errs <- fmt.Errorf("%s %q listed %v, want %v", a.subject, a.kind, got, a.want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
