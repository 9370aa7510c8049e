package assembly_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/servertest"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// Ensure Start runs its stages in the one boot order and Stop in reverse,
// and that the log shows it: the BMC boot is recorded before the BMC is
// Ready, both before the coordinator starts, and a second Stop does
// nothing.
func TestStartAndStopRunInOrder(t *testing.T) {
	ctx := context.Background()
	plat := servertest.FastButtons(platform.Default())
	sim, err := simhw.New(clock.Real{}, servertest.FastSim(plat))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	log := memlog.New()
	defer log.Close()
	var stages []assembly.Stage
	asm, err := assembly.Start(ctx, assembly.Config{Platform: plat, Log: log, Snapshots: memsnap.New(), Clock: clock.Real{},
		Devices: devices.Config{Sim: sim}, Timeouts: servertest.FastTimeouts(),
		BMCBoot: machine.Input{Value: machine.RebootCausePOR, Cause: "test boot"},
		OnStage: func(s assembly.Stage) { stages = append(stages, s) }})
	if err != nil {
		t.Fatal(err)
	}
	wantStart := []assembly.Stage{assembly.StageDevices, assembly.StageComponents, assembly.StageBMCBoot, assembly.StageBMCReady,
		assembly.StageCoordinator, assembly.StageReconciliation, assembly.StageRunning}
	if !slices.Equal(stages, wantStart) {
		t.Fatalf("start stages %q, want %q", stages, wantStart)
	}
	if asm.Recovered["bmc.0"].State != machine.StateNotReady {
		t.Fatalf("recovered bmc.0 %+v, want NotReady (read before the boot was recorded)", asm.Recovered["bmc.0"])
	}
	evs, err := log.ReadStream(ctx, "bmc.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for _, e := range evs {
		r, err := actors.DecodeRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		if r.Event.Trigger != "" {
			triggers = append(triggers, r.Event.Trigger)
		}
	}
	if want := []string{machine.ObservedBooted, machine.ObservedServicesReady}; !slices.Equal(triggers, want) {
		t.Fatalf("bmc.0 triggers %q, want %q", triggers, want)
	}
	if v, err := asm.System.Get(ctx, "bmc.0"); err != nil || v.Status.State != machine.StateReady {
		t.Fatalf("bmc.0 after Start: %+v, %v; want Ready", v, err)
	}

	stages = nil
	if err := asm.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wantStop := []assembly.Stage{assembly.StageStopCoordinator, assembly.StageStopDevices, assembly.StageStopComponents}
	if !slices.Equal(stages, wantStop) {
		t.Fatalf("stop stages %q, want %q", stages, wantStop)
	}
	if _, err := asm.Hardware.HostPowerGood(ctx, "0"); !errors.Is(err, devices.ErrClosed) {
		t.Fatalf("devices after Stop: %v, want ErrClosed", err)
	}
	stages = nil
	if err := asm.Stop(ctx); err != nil || len(stages) != 0 {
		t.Fatalf("second Stop: %v, stages %q; want nothing done", err, stages)
	}
}

// Ensure a Config without a log is refused with ErrInvalidConfig naming
// the field, before anything is opened.
func TestStartRefusesAnIncompleteConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := assembly.Start(ctx, assembly.Config{Platform: platform.Default(), Snapshots: memsnap.New(), Clock: clock.Real{}})
	if !errors.Is(err, assembly.ErrInvalidConfig) {
		t.Fatalf("Start without Log: %v, want ErrInvalidConfig", err)
	}
}
