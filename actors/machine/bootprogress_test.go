package machine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/machine"
)

func TestParseBootProgress(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		// OpenBMC stages, bare and in their D-Bus spelling.
		{"Unspecified", machine.BootProgressUnspecified},
		{"PCIInit", machine.BootProgressPCIInit},
		{"MotherboardInit", machine.BootProgressMotherboardInit},
		{"OSRunning", machine.BootProgressOSRunning},
		{"xyz.openbmc_project.State.Boot.Progress.ProgressStages.MemoryInit", machine.BootProgressMemoryInit},
		{"xyz.openbmc_project.State.Boot.Progress.ProgressStages.SystemSetup", machine.BootProgressSystemSetup},
		// Redfish BootProgress.LastState.
		{"None", machine.BootProgressUnspecified},
		{"PrimaryProcessorInitializationStarted", machine.BootProgressPrimaryProcInit},
		{"BusInitializationStarted", machine.BootProgressBusInit},
		{"MemoryInitializationStarted", machine.BootProgressMemoryInit},
		{"SecondaryProcessorInitializationStarted", machine.BootProgressSecondaryProcInit},
		{"PCIResourceConfigStarted", machine.BootProgressPCIInit},
		{"SystemHardwareInitializationComplete", machine.BootProgressSystemInitComplete},
		{"SetupEntered", machine.BootProgressSystemSetup},
		{"OSBootStarted", machine.BootProgressOSStart},
		{"OEM", machine.BootProgressOEM},
	} {
		got, err := machine.ParseBootProgress(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("ParseBootProgress(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "osrunning", "OS Running", " PCIInit", "Running",
		"xyz.openbmc_project.State.Boot.Progress.ProgressStages.",              // the prefix alone
		"xyz.openbmc_project.State.Boot.Progress.ProgressStages.OSBootStarted", // Redfish name in D-Bus form
		strings.Repeat("A", 10000),
	} {
		got, err := machine.ParseBootProgress(bad)
		if !errors.Is(err, machine.ErrUnknownBootProgress) || got != "" {
			t.Errorf("ParseBootProgress(%.40q) = %q, %v; want ErrUnknownBootProgress", bad, got, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "PCIResourceConfigStarted") || !strings.Contains(msg, "PCIInit") || len(msg) > 1024 {
			t.Errorf("ParseBootProgress(%.40q): the error should list both spellings, briefly: %s", bad, msg)
		}
	}
}
