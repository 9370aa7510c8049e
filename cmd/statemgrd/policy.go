package main

import (
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
)

// PolicyConfig is what the coordinator decides by. Absent attributes take
// the coordinator's defaults: chassis off refused while hosts are on, host
// power on refused while its chassis is off, one host power-on at a time,
// power restore AlwaysOff, no auto-reboot (3 boot attempts when on),
// thermal critical forces the affected hosts and their chassis off, and a
// graceful shutdown escalates after the platform file's
// graceful_shutdown_timeout (coordinator.TopologyOf carries it).
type PolicyConfig struct {
	ChassisOff            string `hcl:"chassis_off,optional"`              // reject or shutdown_hosts
	HostOn                string `hcl:"host_on,optional"`                  // reject or power_chassis
	MaxConcurrentPowerOns int    `hcl:"max_concurrent_power_ons,optional"` // host power-ons in flight
	PowerRestore          string `hcl:"power_restore,optional"`            // AlwaysOff, AlwaysOn or LastState
	PowerRestoreDelay     string `hcl:"power_restore_delay,optional"`      // e.g. "30s"
	AutoReboot            bool   `hcl:"auto_reboot,optional"`
	BootAttempts          int    `hcl:"boot_attempts,optional"`
	ThermalCritical       string `hcl:"thermal_critical,optional"` // force_off, graceful_shutdown or isolate_component
	GracefulTimeout       string `hcl:"graceful_timeout,optional"` // before a graceful off escalates, e.g. "300s"
	ReconcileInterval     string `hcl:"reconcile_interval,optional"`
}

// defaultReconcileInterval is how often the coordinator reads the hardware
// (PSU input, thermal zones) besides the edges that wake it.
const defaultReconcileInterval = 5 * time.Second

// coordinator returns the coordinator's policy and timeouts, and every
// problem with the block.
func (p *PolicyConfig) coordinator() (coordinator.Policy, coordinator.Timeouts, time.Duration, []configProblem) {
	var pol coordinator.Policy
	var tmo coordinator.Timeouts
	reconcile := defaultReconcileInterval
	if p == nil {
		return pol, tmo, reconcile, nil
	}
	var problems []configProblem
	oneOf := func(attr, v string, allowed ...string) {
		if v == "" {
			return
		}
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		problems = append(problems, configProblem{"policy." + attr, fmt.Sprintf("policy %s %q: use one of %v", attr, v, allowed)})
	}
	duration := func(attr, v string, into *time.Duration) {
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problems = append(problems, configProblem{"policy." + attr, fmt.Sprintf("policy %s %q: give a duration such as \"30s\"", attr, v)})
			return
		}
		*into = d
	}
	oneOf("chassis_off", p.ChassisOff, string(coordinator.RejectWhileHostsOn), string(coordinator.ShutdownHostsFirst))
	oneOf("host_on", p.HostOn, string(coordinator.RequireChassisOn), string(coordinator.PowerChassisOn))
	oneOf("power_restore", p.PowerRestore, string(coordinator.AlwaysOff), string(coordinator.AlwaysOn), string(coordinator.LastState))
	oneOf("thermal_critical", p.ThermalCritical, string(coordinator.ForceOff), string(coordinator.GracefulShutdown), string(coordinator.IsolateComponent))
	if p.MaxConcurrentPowerOns < 0 {
		problems = append(problems, configProblem{"policy.max_concurrent_power_ons", "policy max_concurrent_power_ons must not be negative"})
	}
	if p.BootAttempts < 0 {
		problems = append(problems, configProblem{"policy.boot_attempts", "policy boot_attempts must not be negative"})
	}
	duration("power_restore_delay", p.PowerRestoreDelay, &pol.PowerRestoreDelay)
	duration("graceful_timeout", p.GracefulTimeout, &tmo.Graceful)
	duration("reconcile_interval", p.ReconcileInterval, &reconcile)
	if reconcile <= 0 {
		problems = append(problems, configProblem{"policy.reconcile_interval", "policy reconcile_interval must be positive"})
	}
	pol.ChassisOff = coordinator.ChassisOffPolicy(p.ChassisOff)
	pol.HostOn = coordinator.HostOnPolicy(p.HostOn)
	pol.MaxConcurrentPowerOns = p.MaxConcurrentPowerOns
	pol.PowerRestore = coordinator.RestorePolicy(p.PowerRestore)
	pol.AutoReboot, pol.BootAttempts = p.AutoReboot, p.BootAttempts
	if p.ThermalCritical != "" {
		pol.Emergency = map[coordinator.EmergencyKind]coordinator.EmergencyAction{coordinator.ThermalCritical: coordinator.EmergencyAction(p.ThermalCritical)}
	}
	return pol, tmo, reconcile, problems
}
