package process

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/statemgr/statemgr/adapters/platform"
)

// StartOrder returns the service names in an order that starts every
// service after those it must follow: a service's After list, and every
// service naming it in Before. Among services free to start, file order
// wins, so the order is stable. It returns ErrUnknownDependency for a
// name that is not a service and ErrDependencyCycle, naming the cycle,
// when no order exists.
func StartOrder(services []platform.Service) ([]string, error) {
	index := make(map[string]int, len(services))
	for i, s := range services {
		index[s.Name] = i
	}
	first := make([][]int, len(services)) // first[i]: services that must start before i
	for i, s := range services {
		for _, dep := range s.After {
			j, ok := index[dep]
			if !ok {
				return nil, serviceErr(s.Name, "order", fmt.Errorf("%w: after %q", ErrUnknownDependency, dep))
			}
			first[i] = append(first[i], j)
		}
		for _, later := range s.Before {
			j, ok := index[later]
			if !ok {
				return nil, serviceErr(s.Name, "order", fmt.Errorf("%w: before %q", ErrUnknownDependency, later))
			}
			first[j] = append(first[j], i)
		}
	}
	started := make([]bool, len(services))
	order := make([]string, 0, len(services))
	for len(order) < len(services) {
		next := -1
		for i := range services {
			if !started[i] && !slices.ContainsFunc(first[i], func(j int) bool { return !started[j] }) {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, cycleError(services, first, started)
		}
		started[next] = true
		order = append(order, services[next].Name)
	}
	return order, nil
}

// StopOrder is StartOrder reversed: a service stops before those it
// started after.
func StopOrder(services []platform.Service) ([]string, error) {
	order, err := StartOrder(services)
	slices.Reverse(order)
	return order, err
}

// cycleError walks "must start after" edges among the services not started
// (each has at least one such edge) until a service repeats.
func cycleError(services []platform.Service, first [][]int, started []bool) error {
	at := slices.Index(started, false)
	seen := map[int]int{} // service → position on the path
	var path []int
	for {
		if pos, ok := seen[at]; ok {
			names := make([]string, 0, len(path)-pos+1)
			for _, i := range path[pos:] {
				names = append(names, services[i].Name)
			}
			names = append(names, services[at].Name)
			slices.Reverse(names) // print in start order: a → b means b starts after a
			return serviceErr(services[at].Name, "order", fmt.Errorf("%w: %s", ErrDependencyCycle, strings.Join(names, " → ")))
		}
		seen[at] = len(path)
		path = append(path, at)
		for _, j := range first[at] {
			if !started[j] {
				at = j
				break
			}
		}
	}
}

// StartAll starts the supervisors in order (StartOrder's), each once the
// one before it is ready (WaitReady: through restarts by policy), so every
// service starts after those it depends on are ready. It stops at the
// first service that cannot become ready and returns its error; the
// services already started keep running.
func StartAll(ctx context.Context, order []string, sups map[string]*Supervisor) error {
	for _, name := range order {
		s, ok := sups[name]
		if !ok {
			return serviceErr(name, "start", fmt.Errorf("%w: no supervisor", ErrUnknownDependency))
		}
		if err := s.Start(ctx); err != nil {
			return err
		}
		if err := s.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// CloseAll closes the supervisors in order (StopOrder's), each once the
// one before it is gone: the daemon's clean shutdown, children first. It
// goes on past failures and joins them.
func CloseAll(ctx context.Context, order []string, sups map[string]*Supervisor) error {
	var errs []error
	for _, name := range order {
		s, ok := sups[name]
		if !ok {
			errs = append(errs, serviceErr(name, "close", fmt.Errorf("%w: no supervisor", ErrUnknownDependency)))
			continue
		}
		errs = append(errs, s.Close(ctx))
	}
	return errors.Join(errs...)
}
