package platform

import (
	"reflect"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters"
)

func TestDefault(t *testing.T) {
	p := Default()
	want := &Platform{
		Timeouts: Timeouts{
			PowerPulse:       200 * time.Millisecond,
			ForceOffHold:     4 * time.Second,
			ResetPulse:       500 * time.Millisecond,
			PowerGood:        8 * time.Second,
			GracefulShutdown: 300 * time.Second,
		},
		Polls: Polls{PSU: 5 * time.Second, Thermal: 2 * time.Second},
		BMC:   BMC{Name: "0", Reset: BMCResetRestartDaemon, LEDs: []LED{{Kind: LEDPower, Sysfs: "bmc:green:heartbeat"}}},
		Chassis: []Chassis{{
			Name: "0",
			PSUs: []PSU{
				{Name: "psu0", Bus: 7, Address: 0x58, Page: -1, Backend: BackendSim},
				{Name: "psu1", Bus: 7, Address: 0x59, Page: -1, Backend: BackendSim},
			},
			Sequence: []string{"psu0", "psu1"},
			LEDs:     []LED{{Kind: LEDFault, Sysfs: "pca9552:amber:chassis-fault"}, {Kind: LEDIdentify, Sysfs: "pca9552:blue:chassis-identify"}},
		}},
		Hosts: []Host{
			{Name: "0", Chassis: "0", Lines: defaultLines(""), LEDs: defaultLEDs("", "0")},
			{Name: "1", Chassis: "0", Lines: defaultLines("_1"), LEDs: defaultLEDs("_1", "1")},
		},
		Thermal: []ThermalZone{
			{Name: "zone0", Warning: 75, Critical: 90, Sensors: []Sensor{{Name: "zone0", Backend: SensorSim}}},
			{Name: "zone1", Warning: 75, Critical: 90, Sensors: []Sensor{{Name: "zone1", Backend: SensorSim}}},
		},
		Services: []Service{{Name: "demo", Command: "statemgrd", Args: []string{"demo-service", "--ready-after", "200ms"},
			StopSignal: DefaultStopSignal, StopTimeout: 10 * time.Second,
			Restart:    RestartPolicy{Policy: RestartOnFailure, Delay: time.Second, MaxDelay: 30 * time.Second},
			StartLimit: StartLimit{Count: 5, Interval: time.Minute}}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", p, want)
	}
	// A fresh copy each time: changing one leaves the next alone.
	p.Hosts[0].Name = "changed"
	if Default().Hosts[0].Name != "0" {
		t.Error("Default() shares state between calls")
	}
	if _, err := Parse("copy.hcl", DefaultSource()); err != nil {
		t.Errorf("DefaultSource does not parse: %v", err)
	}
}

func defaultLEDs(suffix, host string) []LED {
	return []LED{
		{Kind: LEDPower, Line: adapters.LineConfig{Name: "LED_POWER" + suffix, Polarity: adapters.ActiveHigh}},
		{Kind: LEDFault, Sysfs: "pca9552:amber:fault-" + host},
		{Kind: LEDIdentify, Sysfs: "pca9552:blue:identify-" + host},
	}
}

func defaultLines(suffix string) HostLines {
	lc := func(name string, pol adapters.Polarity) adapters.LineConfig {
		return adapters.LineConfig{Name: name + suffix, Polarity: pol}
	}
	return HostLines{
		PowerOut:     lc("POWER_OUT", adapters.ActiveLow),
		ResetOut:     lc("RESET_OUT", adapters.ActiveLow),
		NMIOut:       lc("NMI_OUT", adapters.ActiveHigh),
		PowerGood:    lc("PS_PWROK", adapters.ActiveHigh),
		PostComplete: lc("POST_COMPLETE", adapters.ActiveLow),
		PowerButton:  lc("POWER_BUTTON", adapters.ActiveLow),
	}
}

// Compiled compiles every component of the platform, keyed by its id.
func TestCompiledDefaultPlatform(t *testing.T) {
	compiled, err := Default().Compiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bmc.0", "chassis.0", "host.0", "host.1", "service.demo"} {
		if compiled[actors.ID(id)] == nil {
			t.Errorf("no compiled machine for %s (have %d)", id, len(compiled))
		}
	}
}
