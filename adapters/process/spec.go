package process

import (
	"fmt"
	"maps"
	"os"
	"os/user"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Spec is what Start runs: one service's process.
type Spec struct {
	Name        string            // the service's name; names the pid file and the logger
	Command     string            // an absolute path, or a name looked up in PATH
	Args        []string          // arguments after the command
	Env         map[string]string // added to, and overriding, the daemon's environment
	WorkingDir  string            // "": the daemon's working directory
	User        string            // "": the daemon's user; otherwise a user name or numeric uid
	StopSignal  syscall.Signal    // 0: SIGTERM
	StopTimeout time.Duration     // 0: platform.DefaultStopTimeout
}

// Options are how Start runs a process; the zero value is usable.
type Options struct {
	Logger      hclog.Logger  // nil: discard; each line of output is logged at info
	Clock       clock.Clock   // nil: clock.Real; every wait goes through it
	PIDDir      string        // "": no pid file; otherwise <PIDDir>/<name>.pid
	OutputLines int           // lines of output kept for error reports; 0: DefaultOutputLines
	KillWait    time.Duration // wait for the group to vanish after SIGKILL; 0: DefaultKillWait
}

// Defaults of Options.
const (
	DefaultOutputLines = 20
	DefaultKillWait    = 5 * time.Second
	// MaxLineBytes bounds one logged line of output; the rest of a longer
	// line is dropped.
	MaxLineBytes = 4096
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// SpecOf returns the process part of a platform service definition.
func SpecOf(s platform.Service) (Spec, error) {
	spec := Spec{
		Name: s.Name, Command: s.Command, Args: slices.Clone(s.Args), Env: maps.Clone(s.Env),
		WorkingDir: s.WorkingDir, User: s.User, StopTimeout: s.StopTimeout,
	}
	if s.StopSignal != "" {
		sig := unix.SignalNum(s.StopSignal)
		if sig == 0 {
			return Spec{}, serviceErr(s.Name, "configure", fmt.Errorf("%w: unknown stop signal %q", ErrInvalidSpec, s.StopSignal))
		}
		spec.StopSignal = sig
	}
	return spec.withDefaults(), spec.validate()
}

func (s Spec) withDefaults() Spec {
	if s.StopSignal == 0 {
		s.StopSignal = syscall.SIGTERM
	}
	if s.StopTimeout <= 0 {
		s.StopTimeout = platform.DefaultStopTimeout
	}
	return s
}

func (s Spec) validate() error {
	if !validName.MatchString(s.Name) {
		return serviceErr(s.Name, "configure", fmt.Errorf("%w: name %q must be letters, digits, '_', '.' or '-'", ErrInvalidSpec, s.Name))
	}
	if s.Command == "" {
		return serviceErr(s.Name, "configure", fmt.Errorf("%w: no command", ErrInvalidSpec))
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.OutputLines <= 0 {
		o.OutputLines = DefaultOutputLines
	}
	if o.KillWait <= 0 {
		o.KillWait = DefaultKillWait
	}
	return o
}

// credential returns the credential to run as name, or nil to run as the
// daemon's own user. Switching users needs euid 0.
func credential(name string, euid int) (*syscall.Credential, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		var uerr error
		if u, uerr = user.LookupId(name); uerr != nil {
			return nil, fmt.Errorf("%w: %w", ErrUser, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: uid %q of %s: %w", ErrUser, u.Uid, name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: gid %q of %s: %w", ErrUser, u.Gid, name, err)
	}
	if int(uid) == euid {
		return nil, nil
	}
	if euid != 0 {
		return nil, fmt.Errorf("%w: running as %s (uid %d) needs root, and the daemon runs as uid %d", ErrUser, name, uid, euid)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	groups, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("%w: groups of %s: %w", ErrUser, name, err)
	}
	for _, g := range groups {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}

// environ returns the daemon's environment overlaid with env, in a stable
// order.
func environ(env map[string]string) []string {
	out := os.Environ()
	if len(env) == 0 {
		return out
	}
	keep := out[:0]
	for _, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := env[k]; !over {
			keep = append(keep, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		keep = append(keep, k+"="+env[k])
	}
	return keep
}
