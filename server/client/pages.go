package client

import (
	"context"
	"fmt"

	"github.com/statemgr/statemgr/server"
)

// RequestFunc sends one request and decodes its reply, as Client.Request.
type RequestFunc func(ctx context.Context, subject string, req, reply any) error

// ListAll follows the pages of a list subject (statemgr.components.list,
// hosts.list, services.list) from req.From and returns every component.
func ListAll(ctx context.Context, request RequestFunc, subject string, req server.ListRequest) (server.ComponentList, error) {
	var all server.ComponentList
	for {
		var page server.ComponentList
		if err := request(ctx, subject, req, &page); err != nil {
			return all, err
		}
		all.Components = append(all.Components, page.Components...)
		if !page.More {
			return all, nil
		}
		if err := progressed(subject, req.From, page.Next, len(page.Components)); err != nil {
			return all, err
		}
		req.From = page.Next
	}
}

// StatusAll reads statemgr.system.status with every component, following
// its pages; the figures (log head, published) are the first page's.
func StatusAll(ctx context.Context, request RequestFunc) (server.SystemStatus, error) {
	var all server.SystemStatus
	var req server.StatusRequest
	for first := true; ; first = false {
		var page server.SystemStatus
		if err := request(ctx, server.SubjectSystemStatus, req, &page); err != nil {
			return all, err
		}
		if first {
			all = page
		} else {
			all.Components = append(all.Components, page.Components...)
		}
		if !page.More {
			all.Next, all.More = "", false
			return all, nil
		}
		if err := progressed(server.SubjectSystemStatus, req.From, page.Next, len(page.Components)); err != nil {
			return all, err
		}
		req.From = page.Next
	}
}

// ValidateAll sends a platform file to statemgr.validate and returns the
// whole report, following its pages.
func ValidateAll(ctx context.Context, request RequestFunc, req server.ValidateRequest) (server.ValidateReply, error) {
	var all server.ValidateReply
	for first := true; ; first = false {
		var page server.ValidateReply
		if err := request(ctx, server.SubjectValidate, req, &page); err != nil {
			return all, err
		}
		if first {
			all.Platform, all.OK = page.Platform, page.OK
		}
		all.Errors = append(all.Errors, page.Errors...)
		all.Components = append(all.Components, page.Components...)
		if !page.More {
			return all, nil
		}
		if page.Next <= req.From {
			return all, fmt.Errorf("%s: the reply's next page (%d) does not follow its request's (%d)", server.SubjectValidate, page.Next, req.From)
		}
		req.From = page.Next
	}
}

// progressed refuses a page that would make a client ask for the same
// page again.
func progressed(subject, from, next string, items int) error {
	if next == from || items == 0 {
		return fmt.Errorf("%s: a page from %q returned %d components and next %q: the pages do not progress", subject, from, items, next)
	}
	return nil
}
