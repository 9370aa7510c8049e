package machine

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownBootProgress is wrapped by ParseBootProgress for a name that
// is neither a Redfish BootProgress.LastState nor an OpenBMC boot progress
// stage.
var ErrUnknownBootProgress = errors.New("unknown boot progress")

// PDIBootProgressPrefix starts OpenBMC's D-Bus spelling of a stage,
// "xyz.openbmc_project.State.Boot.Progress.ProgressStages.OSRunning".
const PDIBootProgressPrefix = "xyz.openbmc_project.State.Boot.Progress.ProgressStages."

// redfishBootProgress maps Redfish ComputerSystem BootProgress.LastState
// values to the OpenBMC stages (PDI State.Boot.Progress) Status keeps, as
// bmcweb maps them the other way. bmcweb shows MotherboardInit as
// BusInitializationStarted, so that value reads back as BusInit.
var redfishBootProgress = map[string]string{
	"None":                                    BootProgressUnspecified,
	"PrimaryProcessorInitializationStarted":   BootProgressPrimaryProcInit,
	"BusInitializationStarted":                BootProgressBusInit,
	"MemoryInitializationStarted":             BootProgressMemoryInit,
	"SecondaryProcessorInitializationStarted": BootProgressSecondaryProcInit,
	"PCIResourceConfigStarted":                BootProgressPCIInit,
	"SystemHardwareInitializationComplete":    BootProgressSystemInitComplete,
	"SetupEntered":                            BootProgressSystemSetup,
	"OSBootStarted":                           BootProgressOSStart,
	"OSRunning":                               BootProgressOSRunning,
	"OEM":                                     BootProgressOEM,
}

// ParseBootProgress returns the boot progress stage (a BootProgress*
// constant, as Status.BootProgress keeps it) that name spells: an OpenBMC
// stage ("PCIInit"), its D-Bus form (PDIBootProgressPrefix + "PCIInit") or
// a Redfish BootProgress.LastState ("PCIResourceConfigStarted"). Names are
// exact, as both standards spell them; anything else is an error wrapping
// ErrUnknownBootProgress that lists the accepted names. It is pure.
func ParseBootProgress(name string) (string, error) {
	stage := strings.TrimPrefix(name, PDIBootProgressPrefix)
	if bootProgressStages[stage] {
		return stage, nil
	}
	if stage, ok := redfishBootProgress[name]; ok {
		return stage, nil
	}
	const maxShown = 64 // a name from outside is quoted, not echoed whole
	shown := name
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "..."
	}
	return "", fmt.Errorf("%w %q: use an OpenBMC stage (%s) or a Redfish BootProgress.LastState (%s)",
		ErrUnknownBootProgress, shown, strings.Join(sortedKeys(bootProgressStages), ", "), strings.Join(sortedKeys(redfishBootProgress), ", "))
}
