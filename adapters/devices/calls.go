package devices

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/adapters/pmbus"
)

// Activity counts the units of work the devices have started or resumed
// so far. A driver of a virtual clock compares it across a Settle with
// another layer's own count, to prove both were idle together: work moves
// between the devices and their callers (a call is handed to the devices,
// its answer back) with an overlap, so a pass in which neither count moved
// saw both idle at its end.
func (h *Hardware) Activity() uint64 { return h.track.activity() }

// PSUOn writes OPERATION=ON to the PSU named psu.
func (h *Hardware) PSUOn(ctx context.Context, psu string) error {
	return h.commandPSU(ctx, psu, "power on (OPERATION on)", (*pmbus.Device).On)
}

// PSUOff writes OPERATION=IMMEDIATE OFF to the PSU named psu.
func (h *Hardware) PSUOff(ctx context.Context, psu string) error {
	return h.commandPSU(ctx, psu, "power off (OPERATION immediate off)", (*pmbus.Device).ImmediateOff)
}

// PSUClearFaults sends CLEAR_FAULTS to the PSU named psu.
func (h *Hardware) PSUClearFaults(ctx context.Context, psu string) error {
	return h.commandPSU(ctx, psu, "clear faults", (*pmbus.Device).ClearFaults)
}

// PSUStatus reads the STATUS_* registers of the PSU named psu, decoded
// but not judged: which flags count as a fault is the caller's policy.
func (h *Hardware) PSUStatus(ctx context.Context, psu string) (pmbus.Status, error) {
	p, err := h.findPSU(psu)
	if err != nil {
		return pmbus.Status{}, err
	}
	r, err := ask(ctx, h, p.pid, p.name, "read status", func(ctx context.Context, reply replyTo[psuReading]) any {
		return psuRead{ctx: ctx, reply: reply}
	})
	if err == nil {
		err = r.err
	}
	if err != nil {
		return pmbus.Status{}, err
	}
	return r.status, nil
}

func (h *Hardware) commandPSU(ctx context.Context, psu, op string, write func(*pmbus.Device, context.Context) error) error {
	p, err := h.findPSU(psu)
	if err != nil {
		return err
	}
	cmdErr, err := ask(ctx, h, p.pid, p.name, op, func(ctx context.Context, reply replyTo[error]) any {
		return psuCommand{ctx: ctx, op: op, write: write, reply: reply}
	})
	if err != nil {
		return err
	}
	return cmdErr
}

// HostPowerGood reads the power good line (PS_PWROK) of the host named
// host, e.g. "0".
func (h *Hardware) HostPowerGood(ctx context.Context, host string) (bool, error) {
	d, err := h.findHost(host)
	if err != nil {
		return false, err
	}
	r, err := ask(ctx, h, d.pid, d.lineName(rolePowerGood, d.line(rolePowerGood)), "read line", func(ctx context.Context, reply replyTo[lineLevel]) any {
		return hostReadLine{ctx: ctx, role: rolePowerGood, reply: reply}
	})
	if err == nil {
		err = r.err
	}
	if err != nil {
		return false, err
	}
	return r.asserted, nil
}

// SetPowerButton drives the power button output (POWER_OUT) of the host
// named host.
func (h *Hardware) SetPowerButton(ctx context.Context, host string, asserted bool) error {
	return h.setHostLine(ctx, host, rolePowerOut, asserted)
}

// SetReset drives the reset output (RESET_OUT) of the host named host.
func (h *Hardware) SetReset(ctx context.Context, host string, asserted bool) error {
	return h.setHostLine(ctx, host, roleResetOut, asserted)
}

// SetNMI drives the NMI output (NMI_OUT) of the host named host.
func (h *Hardware) SetNMI(ctx context.Context, host string, asserted bool) error {
	return h.setHostLine(ctx, host, roleNMIOut, asserted)
}

func (h *Hardware) setHostLine(ctx context.Context, host, role string, asserted bool) error {
	d, err := h.findHost(host)
	if err != nil {
		return err
	}
	setErr, err := ask(ctx, h, d.pid, d.lineName(role, d.line(role)), "drive for the coordinator", func(ctx context.Context, reply replyTo[error]) any {
		return hostSetLine{ctx: ctx, role: role, asserted: asserted, reply: reply}
	})
	if err != nil {
		return err
	}
	return setErr
}

// Temperature returns the hottest readable sensor of the thermal zone
// named zone, in °C; it fails when no sensor of the zone can be read.
func (h *Hardware) Temperature(ctx context.Context, zone string) (float64, error) {
	z, err := h.findZone(zone)
	if err != nil {
		return 0, err
	}
	const op = "read temperature"
	ev, err := ask(ctx, h, z.pid, "thermal zone "+z.name, op, func(ctx context.Context, reply replyTo[ThermalEvent]) any {
		return zoneMeasure{ctx: ctx, reply: reply}
	})
	if err != nil {
		return 0, err
	}
	if ev.Level == ThermalUnavailable {
		return 0, &Error{Device: "thermal zone " + z.name, Op: op, Err: ev.Err}
	}
	return ev.Celsius, nil
}

func (h *Hardware) findPSU(name string) (*psuDev, error) {
	return find(h, "psu", name, h.psus, func(p *psuDev) string { return p.name })
}

func (h *Hardware) findHost(name string) (*hostDev, error) {
	hosts := make([]*hostDev, 0, len(h.hosts))
	for _, id := range sortedIDs(h.hosts) {
		hosts = append(hosts, h.hosts[id])
	}
	return find(h, "host", name, hosts, func(d *hostDev) string { return d.name })
}

func (h *Hardware) findZone(name string) (*zoneDev, error) {
	return find(h, "thermal zone", name, h.zones, func(z *zoneDev) string { return z.name })
}

// find returns the device of a kind named name, ErrClosed after Close,
// or an error wrapping ErrUnknownDevice that lists the names there are.
func find[D any](h *Hardware, kind, name string, devices []D, nameOf func(D) string) (D, error) {
	var zero D
	if h.isClosed() {
		return zero, ErrClosed
	}
	names := make([]string, len(devices))
	for i, d := range devices {
		if nameOf(d) == name {
			return d, nil
		}
		names[i] = nameOf(d)
	}
	slices.Sort(names)
	return zero, &Error{Device: kind + " " + strconv.Quote(name), Op: "look up",
		Err: fmt.Errorf("%w (known %ss: %s)", ErrUnknownDevice, kind, strings.Join(names, ", "))}
}

// ask sends a device actor the message build makes and waits for the
// answer. The message's context ends when ctx does or the Hardware closes,
// so that the actor drops work nobody waits for any more; device and op
// name the call in the error of a caller that gave up.
func ask[T any](ctx context.Context, h *Hardware, pid *actor.PID, device, op string, build func(context.Context, replyTo[T]) any) (T, error) {
	var zero T
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(h.ctx, cancel)()
	// The asker counts as busy, for Settle, except while it waits.
	key := new(int)
	h.track.begin(key)
	defer h.track.end(key)
	reply := newReply[T](key)
	h.send(pid, build(ctx, reply))
	v, err := await(ctx, h.track, reply)
	switch {
	case h.ctx.Err() != nil:
		return zero, ErrClosed
	case err != nil:
		return zero, &Error{Device: device, Op: op, Err: err}
	}
	return v, nil
}
