package machine

import (
	"errors"
	"strings"
	"testing"
)

func TestDOT(t *testing.T) {
	svc, err := Extend(Service(DefaultServiceConfig()), syncing())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := DOT(&b, Host(DefaultHostConfig()), Chassis(DefaultChassisConfig()), BMC(DefaultBMCConfig()), Service(DefaultServiceConfig()), svc); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"digraph statemgr {\n",
		`subgraph "cluster_host" {`,
		`"host.Off" [label="Off", style="rounded,bold"];`,
		`"host.TransitioningToRunning" [label="TransitioningToRunning", style="rounded,dashed"];`,
		`"host.Error" [label="Error", color=red, fontcolor=red, style="rounded"];`,
		`"host.Off" -> "host.TransitioningToRunning" [label="On [!firmware_update_in_progress chassis_on] / press_power_button(duration=200ms), reset_boot_progress", style=solid];`,
		`"host.Running" -> "host.Off" [label="power_good_deasserted / reset_boot_progress, alert(reason=power good lost while Running)", style=dotted];`,
		`"host.TransitioningToOff" -> "host.Error" [label="timeout 5m0s / hold_power_button(duration=4s), alert(reason=host did not power off within 5m0s; power button override issued)", style=dashed, color=red, fontcolor=red];`,
		`"chassis.On" -> "chassis.PowerCycling" [label="PowerCycle [hosts_off] / sequence_power_off", style=solid];`,
		`"bmc.NotReady" [label="NotReady", style="rounded,bold,dashed"];`,
		`"service.Error" -> "service.Stopped" [label="Reset / stop_process(force=true), clear_failure", style=solid];`,
		`subgraph "cluster_service#2" {`,
		`"service#2.Running" -> "service#2.Syncing" [label="sync_started", style=dotted];`,
		`"service#2.Syncing" -> "service#2.Error" [label="timeout 1m0s / record_failure(what=sync), alert(reason=sync did not finish)", style=dashed, color=red, fontcolor=red];`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT output lacks %s", want)
		}
	}
	if strings.Count(out, "subgraph") != 5 || !strings.HasSuffix(out, "\t}\n}\n") {
		t.Errorf("DOT output is not five closed clusters:\n%s", out)
	}
	// Timeouts are drawn once, from the state, not again as a transition.
	if n := strings.Count(out, `"host.TransitioningToOff" -> "host.Error"`); n != 1 {
		t.Errorf("%d timeout edges from TransitioningToOff", n)
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestDOTErrors(t *testing.T) {
	if err := DOT(failingWriter{}, Host(DefaultHostConfig())); !errors.Is(err, errDiskFull) {
		t.Errorf("write error = %v", err)
	}
	var b strings.Builder
	if err := DOT(&b, Host(DefaultHostConfig()), nil); !errors.Is(err, ErrInvalidMachine) || b.Len() != 0 {
		t.Errorf("nil machine: %v, wrote %d bytes", err, b.Len())
	}
}
