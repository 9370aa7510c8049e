package process

import (
	"errors"
	"fmt"
)

// Process and supervisor errors. They arrive wrapped in a *ServiceError
// naming the service and the operation; test with errors.Is.
var (
	// ErrInvalidSpec: the service definition cannot be run as given.
	ErrInvalidSpec = errors.New("invalid service definition")
	// ErrSpawn: the operating system refused to start the process.
	ErrSpawn = errors.New("cannot spawn process")
	// ErrUser: the service's user is unknown, or switching to it needs
	// root and the daemon does not run as root.
	ErrUser = errors.New("cannot run as the service's user")
	// ErrPIDFile: the pid file could not be written, read or removed.
	ErrPIDFile = errors.New("pid file")
	// ErrUnkillable: members of the process group were still alive after
	// SIGKILL and the kill wait (e.g. stuck in uninterruptible sleep).
	ErrUnkillable = errors.New("process group survived sigkill")
	// ErrNeedsReset: the service failed (its restarts are exhausted or
	// its policy does not restart it) and must be reset before starting.
	ErrNeedsReset = errors.New("service failed: reset it before starting it again")
	// ErrBusy: the service is being stopped; retry once it has stopped.
	ErrBusy = errors.New("service is stopping")
	// ErrNotReady: the service did not become ready (see the cause), or
	// is not started.
	ErrNotReady = errors.New("service did not become ready")
	// ErrClosed: the supervisor was closed.
	ErrClosed = errors.New("supervisor is closed")
	// ErrUnknownDependency: a service depends on a service that is not
	// defined.
	ErrUnknownDependency = errors.New("unknown service dependency")
	// ErrDependencyCycle: services depend on each other in a cycle.
	ErrDependencyCycle = errors.New("service dependency cycle")
)

// ServiceError is a failed operation on one service.
type ServiceError struct {
	Service string // the service's name
	Op      string // what was attempted, e.g. "start", "stop", "cleanup"
	Err     error  // the cause; wraps one of the sentinels above when known
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("service %s: %s: %v", e.Service, e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *ServiceError) Unwrap() error { return e.Err }

func serviceErr(service, op string, err error) error {
	return &ServiceError{Service: service, Op: op, Err: err}
}
