package gpiocdev

import (
	"errors"
	"fmt"
	"strings"

	lib "github.com/warthog618/go-gpiocdev"

	"github.com/statemgr/statemgr/adapters"
)

// request is one line request, as the GPIO needs it.
type request struct {
	chip      string
	offset    int
	consumer  string
	output    bool
	activeLow bool
	onEvent   func(lib.LineEvent) // input only; nil: no edge detection
}

// requested is a line granted by the kernel. Values are logical.
type requested interface {
	Value() (int, error)
	SetValue(v int) error
	Close() error
}

// cdev is the seam between the GPIO and the character device, so that a
// test can see every request without a kernel.
type cdev interface {
	// find returns the chip and offset of the line called name.
	find(name string) (chip string, offset int, err error)
	request(r request) (requested, error)
	// chips lists the GPIO chips, for a line given by chip and offset.
	chips() ([]chipInfo, error)
	// consumer returns the label of whoever holds the line, "" if unknown.
	consumer(chip string, offset int) string
}

// chipInfo is one GPIO chip as the kernel describes it.
type chipInfo struct {
	name  string // "gpiochip0"
	label string // the driver's label, "1e780000.gpio"
	lines int
}

// locate finds the chip a platform file names, by name ("gpiochip0"),
// path ("/dev/gpiochip0") or label ("1e780000.gpio"), and checks that it
// has a line at offset.
func locate(chips []chipInfo, chip string, offset int) (string, error) {
	want := strings.TrimPrefix(chip, "/dev/")
	var have []string
	for _, c := range chips {
		have = append(have, fmt.Sprintf("%s (%s, %d lines)", c.name, c.label, c.lines))
		if c.name != want && c.label != chip {
			continue
		}
		if offset < 0 || offset >= c.lines {
			return "", fmt.Errorf("%s (%s) has lines 0..%d, not offset %d: %w", c.name, c.label, c.lines-1, offset, adapters.ErrNoLine)
		}
		return c.name, nil
	}
	return "", fmt.Errorf("no gpio chip named or labelled %q (there are %s): %w", chip, strings.Join(have, ", "), adapters.ErrNoDevice)
}

// kernel is the real character device.
type kernel struct{}

func (kernel) find(name string) (string, int, error) {
	chips := lib.Chips()
	if len(chips) == 0 {
		return "", 0, fmt.Errorf("no /dev/gpiochip* devices: %w", adapters.ErrNoDevice)
	}
	var openErr error
	for _, chip := range chips {
		c, err := lib.NewChip(chip, lib.WithABIVersion(2))
		if err != nil {
			openErr = fmt.Errorf("cannot open %s: %w", chip, err)
			continue
		}
		offset, err := c.FindLine(name)
		_ = c.Close()
		if err == nil {
			return chip, offset, nil
		}
	}
	if openErr != nil {
		// A chip we could not open may be the one with the line.
		return "", 0, fmt.Errorf("%w (%w)", adapters.ErrNoLine, adapters.FromErrno(openErr, adapters.ErrLineBusy))
	}
	return "", 0, fmt.Errorf("searched %d chips: %w", len(chips), adapters.ErrNoLine)
}

func (kernel) chips() ([]chipInfo, error) {
	names := lib.Chips()
	if len(names) == 0 {
		return nil, fmt.Errorf("no /dev/gpiochip* devices: %w", adapters.ErrNoDevice)
	}
	out := make([]chipInfo, 0, len(names))
	var openErr error
	for _, name := range names {
		c, err := lib.NewChip(name, lib.WithABIVersion(2))
		if err != nil {
			openErr = fmt.Errorf("cannot open %s: %w", name, err)
			continue
		}
		out = append(out, chipInfo{name: c.Name, label: c.Label, lines: c.Lines()})
		_ = c.Close()
	}
	if len(out) == 0 {
		return nil, adapters.FromErrno(openErr, adapters.ErrLineBusy)
	}
	return out, nil
}

func (kernel) request(r request) (requested, error) {
	opts := []lib.LineReqOption{lib.WithConsumer(r.consumer), lib.WithABIVersion(2)}
	if r.activeLow {
		opts = append(opts, lib.AsActiveLow)
	}
	if r.output {
		opts = append(opts, lib.AsOutput(0))
	} else {
		opts = append(opts, lib.AsInput)
		if r.onEvent != nil {
			opts = append(opts, lib.WithBothEdges, lib.WithEventHandler(r.onEvent))
		}
	}
	l, err := lib.RequestLine(r.chip, r.offset, opts...)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (kernel) consumer(chip string, offset int) string {
	c, err := lib.NewChip(chip, lib.WithABIVersion(2))
	if err != nil {
		return ""
	}
	defer c.Close()
	info, err := c.LineInfo(offset)
	if err != nil {
		return ""
	}
	return info.Consumer
}

// libError classifies the library's own errors; errno values go through
// adapters.FromErrno.
func libError(err error) error {
	switch {
	case errors.Is(err, lib.ErrClosed):
		return fmt.Errorf("%w (%w)", adapters.ErrClosed, err)
	case errors.Is(err, lib.ErrPermissionDenied):
		return fmt.Errorf("%w (%w)", adapters.ErrPermission, err)
	case errors.Is(err, lib.ErrNotCharacterDevice):
		return fmt.Errorf("%w (%w)", adapters.ErrNoDevice, err)
	}
	return adapters.FromErrno(err, adapters.ErrLineBusy)
}
