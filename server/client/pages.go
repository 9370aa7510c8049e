package client

import (
	"context"
	"fmt"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// RequestFunc sends one request and decodes its reply, as Client.Request.
type RequestFunc func(ctx context.Context, subject string, req, reply any) error

// ListAll follows the pages of a list subject (statemgr.components.list,
// hosts.list, services.list) from req.From and returns every component.
func ListAll(ctx context.Context, request RequestFunc, subject string, req server.ListRequest) (server.ComponentList, error) {
	return allPages(ctx, request, subject, req, req.From, func(r *server.ListRequest, from string) { r.From = from },
		func(l *server.ComponentList) (*[]server.Component, *string, *bool) {
			return &l.Components, &l.Next, &l.More
		})
}

// StatusAll reads statemgr.system.status with every component, following
// its pages; the figures (log head, published) are the first page's.
func StatusAll(ctx context.Context, request RequestFunc) (server.SystemStatus, error) {
	return allPages(ctx, request, server.SubjectSystemStatus, server.StatusRequest{}, "", func(r *server.StatusRequest, from string) { r.From = from },
		func(s *server.SystemStatus) (*[]server.Component, *string, *bool) {
			return &s.Components, &s.Next, &s.More
		})
}

// AlertsAll reads statemgr.alerts.list whole, following its pages.
func AlertsAll(ctx context.Context, request RequestFunc) (server.AlertList, error) {
	return allPages(ctx, request, server.SubjectAlertsList, server.AlertsRequest{}, "", func(r *server.AlertsRequest, from string) { r.From = from },
		func(l *server.AlertList) (*[]server.StandingAlert, *string, *bool) {
			return &l.Alerts, &l.Next, &l.More
		})
}

// InterlocksAll reads statemgr.interlocks.list whole (for component id,
// or every one with id ""), following its pages.
func InterlocksAll(ctx context.Context, request RequestFunc, id string) (server.InterlocksReply, error) {
	return allPages(ctx, request, server.SubjectInterlocksList, server.InterlocksRequest{ID: id}, "", func(r *server.InterlocksRequest, from string) { r.From = from },
		func(l *server.InterlocksReply) (*[]server.RequestBlockers, *string, *bool) {
			return &l.Requests, &l.Next, &l.More
		})
}

// CheckpointsAll reads statemgr.checkpoint.list whole, following its
// pages.
func CheckpointsAll(ctx context.Context, request RequestFunc) (server.CheckpointList, error) {
	return allPages(ctx, request, server.SubjectCheckpointList, server.CheckpointListRequest{}, "", func(r *server.CheckpointListRequest, from string) { r.From = from },
		func(l *server.CheckpointList) (*[]checkpoint.Manifest, *string, *bool) {
			return &l.Checkpoints, &l.Next, &l.More
		})
}

// allPages requests subject page by page from the cursor from (set into
// the request by setFrom) and returns the first page's reply with every
// page's items and no cursor; fields names a reply's items and cursor.
func allPages[Req, Reply, Item any](ctx context.Context, request RequestFunc, subject string, req Req, from string,
	setFrom func(*Req, string), fields func(*Reply) (items *[]Item, next *string, more *bool)) (Reply, error) {
	var all Reply
	for first := true; ; first = false {
		var page Reply
		if err := request(ctx, subject, req, &page); err != nil {
			return all, err
		}
		items, next, more := fields(&page)
		if first {
			all = page
		} else {
			allItems, _, _ := fields(&all)
			*allItems = append(*allItems, *items...)
		}
		if !*more {
			_, allNext, allMore := fields(&all)
			*allNext, *allMore = "", false
			return all, nil
		}
		if err := progressed(subject, from, *next, len(*items)); err != nil {
			return all, err
		}
		from = *next
		setFrom(&req, from)
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
		return fmt.Errorf("%s: a page from %q returned %d items and next %q: the pages do not progress", subject, from, items, next)
	}
	return nil
}

// PSUReadingsAll reads statemgr.psu.readings for every PSU (id "") or the
// one named id, following the pages.
func PSUReadingsAll(ctx context.Context, request RequestFunc, id string) (server.PSUReadingsReply, error) {
	return allPages(ctx, request, server.SubjectPSUReadings, server.PSUReadingsRequest{ID: id}, "", func(r *server.PSUReadingsRequest, from string) { r.From = from },
		func(l *server.PSUReadingsReply) (*[]server.PSUReading, *string, *bool) {
			return &l.PSUs, &l.Next, &l.More
		})
}
