package platform

import (
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
)

// Platform is a parsed, checked platform file.
type Platform struct {
	Timeouts   Timeouts
	Polls      Polls
	BMC        BMC
	Chassis    []Chassis
	Hosts      []Host
	Thermal    []ThermalZone
	Services   []Service
	Extensions []machine.Extension
	Inputs     []Input // external inputs over NATS (inputs.go)
}

// Timeouts are the power-control timings, shared by every host.
type Timeouts struct {
	PowerPulse       time.Duration // power button press; default 200 ms
	ForceOffHold     time.Duration // power button hold for force-off; default 4 s, at most 15 s
	ResetPulse       time.Duration // reset button press; default 500 ms
	PowerGood        time.Duration // wait for power good after power-on; default 8 s
	GracefulShutdown time.Duration // wait for the OS to power off after a press; default 300 s
}

// Timeout defaults and limits.
const (
	DefaultPowerPulse       = 200 * time.Millisecond
	DefaultForceOffHold     = 4 * time.Second
	MaxForceOffHold         = 15 * time.Second
	DefaultResetPulse       = 500 * time.Millisecond
	DefaultPowerGood        = 8 * time.Second
	DefaultGracefulShutdown = 300 * time.Second
)

// Polls are the periods of the reads of what raises no event: PMBus PSU
// status and temperatures. Each poll wakes the daemon, so a board sets them
// as long as its hardware allows.
type Polls struct {
	PSU     time.Duration // STATUS_WORD of every PSU; default 1 s
	Thermal time.Duration // every sensor of a thermal zone; default 1 s
}

// Poll defaults and limits.
const (
	DefaultPSUPoll     = time.Second
	DefaultThermalPoll = time.Second
	MinPoll            = 100 * time.Millisecond
	MaxPoll            = time.Minute
)

// BMC is the management controller itself.
type BMC struct {
	Name string // default "0", so its component id is bmc.0
	// Reset is how statemgrd carries out a BMC reset (statemgr.bmc.reset);
	// BMCResetNone, the default, means it cannot, and refuses the request.
	Reset BMCReset
	LEDs  []LED // led blocks (leds.go)
}

// BMCReset is how a platform's BMC is reset.
type BMCReset string

// BMC reset methods.
const (
	// BMCResetNone: statemgrd has no way to reset this BMC.
	BMCResetNone BMCReset = "none"
	// BMCResetRestartDaemon: the simulated platform's reset. There is no
	// BMC to reboot, so statemgrd does what the BMC's reboot would do to
	// it: it stops, starts again, and recovers from its log as after a BMC
	// boot (reboot cause Software).
	BMCResetRestartDaemon BMCReset = "restart-daemon"
)

// Backend says how statemgr reaches a PMBus device.
type Backend string

// PMBus back-ends.
const (
	BackendSMBus Backend = "smbus" // raw SMBus through /dev/i2c-N (package smbus)
	BackendHwmon Backend = "hwmon" // the kernel pmbus driver's files (package hwmon)
	BackendSim   Backend = "sim"   // the simulated platform
)

// Chassis is one enclosure with its power supplies.
type Chassis struct {
	Name string
	PSUs []PSU
	// Sequence is the power-on order of the PSUs by name; power-off runs
	// in reverse. It lists every PSU once; by default, file order.
	Sequence []string
	LEDs     []LED // led blocks (leds.go)
}

// PSU is one PMBus power supply.
type PSU struct {
	Name    string
	Bus     int    // I2C bus number, /dev/i2c-<Bus>
	Address uint16 // 7-bit address, 0x03..0x77
	Page    int    // PMBus page to select, 0..31; -1: the device has no pages
	Backend Backend
	// Direct gives the readings the device sends in the DIRECT format
	// and their coefficients (direct blocks; smbus only); every other
	// reading is LINEAR11 (READ_VOUT: as VOUT_MODE says).
	Direct map[adapters.Quantity]adapters.Coefficients
}

// Host is one compute node and the lines that control it.
type Host struct {
	Name    string
	Chassis string // the chassis powering it
	Lines   HostLines
	LEDs    []LED // led blocks (leds.go)
	// Input says which host events other services may report for the
	// host (hostinput.go); nil: none.
	Input *HostInput
}

// HostLines names a host's GPIO lines and their polarity. A line that is
// not wired has an empty Name. PowerOut, ResetOut and PowerGood are
// required.
type HostLines struct {
	PowerOut     adapters.LineConfig // output: power button towards the host
	ResetOut     adapters.LineConfig // output: reset button towards the host
	NMIOut       adapters.LineConfig // output: NMI towards the host
	PowerGood    adapters.LineConfig // input: host power good (PS_PWROK)
	PostComplete adapters.LineConfig // input: BIOS POST complete
	PowerButton  adapters.LineConfig // input: front-panel power button
	ResetButton  adapters.LineConfig // input: front-panel reset button
	NMIButton    adapters.LineConfig // input: front-panel NMI button
	IDButton     adapters.LineConfig // input: front-panel identify button
}

// ThermalZone is a group of temperature sensors with shared limits.
type ThermalZone struct {
	Name     string
	Sensors  []Sensor
	Warning  float64 // °C; above it the zone is in warning
	Critical float64 // °C; above it the zone is critical (greater than Warning)
}

// SensorBackend says where a temperature comes from.
type SensorBackend string

// Sensor back-ends.
const (
	SensorSim   SensorBackend = "sim"   // the simulated platform's sensor of the same name
	SensorHwmon SensorBackend = "hwmon" // tempN_input of a hwmon directory
	SensorPSU   SensorBackend = "psu"   // READ_TEMPERATURE_1 of a PSU
)

// Sensor is one temperature input of a zone.
type Sensor struct {
	Name     string
	Backend  SensorBackend
	HwmonDir string // hwmon: the hwmon directory
	Index    int    // hwmon: N of tempN_input; default 1
	PSU      string // psu: the PSU's name
}

// Restart is a service restart policy.
type Restart string

// Restart policies.
const (
	RestartAlways    Restart = "always"
	RestartOnFailure Restart = "on-failure"
	RestartNever     Restart = "never"
)

// Service is one supervised process.
type Service struct {
	Name        string
	Command     string
	Args        []string
	Env         map[string]string
	WorkingDir  string
	User        string
	After       []string // services that must be ready before this one starts
	Before      []string // services that start only after this one is ready
	StopSignal  string   // e.g. "SIGTERM" (default)
	StopTimeout time.Duration
	Restart     RestartPolicy
	StartLimit  StartLimit
	Readiness   *Check // nil: ready once started
	Liveness    *Check // nil: not probed
}

// Service defaults.
const (
	DefaultStopSignal      = "SIGTERM"
	DefaultStopTimeout     = 90 * time.Second
	DefaultRestartDelay    = time.Second
	DefaultRestartMaxDelay = time.Minute
	DefaultStartLimitCount = 5
	DefaultStartLimitSpan  = 10 * time.Second
	DefaultCheckInterval   = 10 * time.Second
	DefaultCheckTimeout    = 5 * time.Second
	DefaultCheckThreshold  = 3
)

// RestartPolicy says when and how fast a service is restarted.
type RestartPolicy struct {
	Policy   Restart       // default on-failure
	Delay    time.Duration // first restart delay; doubles per failure
	MaxDelay time.Duration // cap of the backoff
}

// StartLimit stops restarting a service that starts Count times within
// Interval.
type StartLimit struct {
	Count    int
	Interval time.Duration
}

// CheckKind is how a check probes a service.
type CheckKind string

// Check kinds.
const (
	CheckCommand CheckKind = "command" // run Command; exit status 0 passes
	CheckHTTP    CheckKind = "http"    // GET URL; a 2xx status passes
	CheckTCP     CheckKind = "tcp"     // connect to Address
	CheckReport  CheckKind = "report"  // the service reports itself
)

// Check is a readiness or liveness probe.
type Check struct {
	Kind      CheckKind
	Command   []string // command: argv
	URL       string   // http
	Address   string   // tcp: host:port
	Interval  time.Duration
	Timeout   time.Duration // at most Interval
	Threshold int           // consecutive results that change the verdict
}
