package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
)

// Subjects of the configuration through the API.
const (
	// SubjectConfigGet shows the platform in force (read).
	SubjectConfigGet = "statemgr.config.get"
	// SubjectConfigSet sets the platform (control: operators only): the
	// first one on an unconfigured daemon, or, with "replace", another
	// one once every host is Off.
	SubjectConfigSet = "statemgr.config.set"
)

// MaxConfigSetSize bounds a statemgr.config.set request: it carries a
// platform file, as statemgr.validate does.
const MaxConfigSetSize = MaxValidateSize

// MaxConfigSetTime bounds one statemgr.config.set: the components' orderly
// stop (the services' grace included) and their start on the new
// platform, as a restore's.
const MaxConfigSetTime = MaxRestoreTime

// Where the platform in force came from (PlatformConfig.Origin).
const (
	OriginDefault = "default" // the built-in simulated platform
	OriginFile    = "file"    // statemgrd's platform_file (--platform)
	OriginAPI     = "api"     // statemgr config set, persisted in the data directory
)

type (
	// ConfigGetRequest asks for the platform in force; it takes no
	// fields.
	ConfigGetRequest struct{}
	// ConfigSetRequest carries a platform file's text. Name is the file's
	// name in located errors; Replace replaces a platform in force.
	ConfigSetRequest struct {
		Name    string `json:"name,omitempty"`
		Source  string `json:"source"`
		Replace bool   `json:"replace,omitempty"`
	}
	// PlatformConfig is the platform in force, or Configured false on an
	// unconfigured daemon. File is where it was read from
	// (platform.DefaultFile for the built-in one, the data directory's
	// copy for one set through the API); SHA256 is its text's, as
	// checkpoints name it.
	PlatformConfig struct {
		Configured bool   `json:"configured"`
		Origin     string `json:"origin,omitempty"`
		File       string `json:"file,omitempty"`
		BMC        string `json:"bmc,omitempty"`
		SHA256     string `json:"sha256,omitempty"`
		Size       int    `json:"size"`
		Source     string `json:"source,omitempty"`
	}
	// ConfigSetReply is the reply of statemgr.config.set, sent once the
	// components run on the new platform and the API answers over them.
	// Replaced is the platform it replaced (its text left out); nil for
	// the first.
	ConfigSetReply struct {
		Platform   PlatformConfig  `json:"platform"`
		Replaced   *PlatformConfig `json:"replaced,omitempty"`
		Components []string        `json:"components"`
	}
)

// PlatformChange is a platform to set, validated: Platform is Source
// parsed.
type PlatformChange struct {
	Name     string
	Source   []byte
	Platform *platform.Platform
	Replace  bool
}

// Configurer is the daemon's side of the config subjects. SetPlatform
// refuses a second platform without Replace (ErrAlreadyConfigured) and a
// replacement while a host is not Off (ErrHostsRunning); otherwise it
// persists the platform, stops this Server and the components, and starts
// them and another Server on it. It is called with every other control
// request refused and none in flight; its errors are *Error.
type Configurer interface {
	PlatformInForce() PlatformConfig
	SetPlatform(ctx context.Context, change PlatformChange, requester string) (ConfigSetReply, error)
}

// configEndpoints are the config subjects, both served unconfigured.
func (s *Server) configEndpoints(read, control func(string, any, func(context.Context, *call) (any, error)) endpoint) []endpoint {
	get := read(SubjectConfigGet, ConfigGetRequest{}, s.configGet)
	set := control(SubjectConfigSet, ConfigSetRequest{}, s.configSet)
	set.limit, set.exclusive = MaxConfigSetSize, true
	get.unconfigured, set.unconfigured = true, true
	return []endpoint{get, set}
}

func (s *Server) configurer() (Configurer, error) {
	if s.cfg.Configurer == nil {
		return nil, newError(ErrUnsupported, "this statemgr server takes no configuration through the API")
	}
	return s.cfg.Configurer, nil
}

func (s *Server) configGet(_ context.Context, c *call) (any, error) {
	if _, derr := decode[ConfigGetRequest](c.data); derr != nil {
		return nil, derr
	}
	cf, err := s.configurer()
	if err != nil {
		return nil, err
	}
	return cf.PlatformInForce(), nil
}

// configSet answers statemgr.config.set. The handler has marked the
// Server exclusive (every other control request is refused from then on);
// this validates the platform as statemgr validate does, waits for the
// control requests in flight, then hands over to the daemon's Configurer.
func (s *Server) configSet(ctx context.Context, c *call) (any, error) {
	defer s.endExclusive()
	req, derr := decode[ConfigSetRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if strings.TrimSpace(req.Source) == "" {
		return nil, newError(ErrBadRequest, `missing "source": send the platform file's text`)
	}
	cf, err := s.configurer()
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		req.Name = "platform.hcl"
	}
	plat, report, err := validatePlatform(req.Name, []byte(req.Source))
	if err != nil {
		return nil, err
	}
	if plat == nil {
		return nil, newError(ErrBadPlatform, "platform %s does not validate, nothing was changed:\n%s", req.Name, strings.Join(report.problems(), "\n"))
	}
	s.controls.Wait()
	ctx, cancel := context.WithTimeout(ctx, MaxConfigSetTime)
	defer cancel()
	s.log.Warn("setting the platform: control requests are refused until it ends", "name", req.Name, "replace", req.Replace, "requester", c.requester)
	began := time.Now()
	reply, err := cf.SetPlatform(ctx, PlatformChange{Name: req.Name, Source: []byte(req.Source), Platform: plat, Replace: req.Replace}, c.requester)
	if err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return nil, apiErr
		}
		return nil, &Error{Kind: ErrConfigFailed, Message: err.Error(), Err: err}
	}
	s.log.Warn("platform set", "sha256", reply.Platform.SHA256, "components", len(reply.Components), "took", time.Since(began), "requester", c.requester)
	return reply, nil
}
