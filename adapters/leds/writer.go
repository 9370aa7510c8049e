package leds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Writer drives one LED.
type Writer interface {
	// Set makes the LED show p and leave it so.
	Set(ctx context.Context, p Pattern) error
	// Close releases the LED (a blinking GPIO stops toggling).
	Close() error
}

// Board opens the LEDs a platform file describes.
type Board interface {
	Open(led platform.LED) (Writer, error)
}

// ErrTimerTrigger: the kernel has no timer trigger, so a leds-class LED
// cannot blink.
var ErrTimerTrigger = errors.New("the LED has no \"timer\" trigger: load the ledtrig-timer module (CONFIG_LEDS_TRIGGER_TIMER)")

// SysfsRoot is where the kernel lists leds-class devices.
const SysfsRoot = "/sys/class/leds"

// Hardware is the Board of a real BMC: leds-class LEDs under Root
// (SysfsRoot when empty) and GPIO lines through GPIO. Blinking GPIO lines
// toggle on Clock.
type Hardware struct {
	Root  string
	GPIO  adapters.GPIO // nil: the platform's GPIO LEDs cannot be opened
	Clock clock.Clock
}

// Open opens led.
func (h Hardware) Open(led platform.LED) (Writer, error) {
	if led.Sysfs != "" {
		root := h.Root
		if root == "" {
			root = SysfsRoot
		}
		return OpenSysfs(filepath.Join(root, led.Sysfs))
	}
	if h.GPIO == nil {
		return nil, &adapters.DeviceError{Device: led.Line.Name, Op: "request LED line", Cmd: adapters.NoCmd, Err: adapters.ErrUnsupported}
	}
	line, err := h.GPIO.Output(led.Line)
	if err != nil {
		return nil, err
	}
	return &gpioLED{line: line, clock: h.Clock}, nil
}

// sysfsLED is a leds-class device: brightness, max_brightness, trigger,
// and with the timer trigger delay_on and delay_off.
type sysfsLED struct {
	dir string
	max int
}

// OpenSysfs opens the leds-class device at dir (/sys/class/leds/<name>).
func OpenSysfs(dir string) (Writer, error) {
	l := &sysfsLED{dir: dir, max: 1}
	if _, err := os.Stat(filepath.Join(dir, "brightness")); err != nil {
		return nil, l.fail("open", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "max_brightness")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			l.max = n
		}
	}
	return l, nil
}

func (l *sysfsLED) fail(op string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("%w: %w", adapters.ErrNoDevice, err)
	} else if errors.Is(err, os.ErrPermission) {
		err = fmt.Errorf("%w: %w", adapters.ErrPermission, err)
	}
	return &adapters.DeviceError{Device: l.dir, Op: op, Cmd: adapters.NoCmd, Err: err}
}

func (l *sysfsLED) write(file, value string) error {
	// O_WRONLY without O_CREATE: a missing attribute is an error, never a
	// new file.
	f, err := os.OpenFile(filepath.Join(l.dir, file), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return l.fail("write "+file, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return l.fail("write "+file, err)
	}
	return nil
}

// Set writes the trigger first: setting "none" turns a blinking LED off
// and writing brightness then sets it steadily. Blinking is the kernel's
// timer trigger, so the LED blinks even while statemgrd is stopped.
func (l *sysfsLED) Set(_ context.Context, p Pattern) error {
	switch p {
	case Blink:
		if err := l.write("trigger", "timer"); err != nil {
			var de *adapters.DeviceError
			if errors.As(err, &de) && !errors.Is(err, adapters.ErrNoDevice) && !errors.Is(err, adapters.ErrPermission) {
				de.Err = fmt.Errorf("%w: %w", ErrTimerTrigger, de.Err)
			}
			return err
		}
		ms := strconv.Itoa(BlinkHalfPeriod)
		if err := l.write("delay_on", ms); err != nil {
			return err
		}
		return l.write("delay_off", ms)
	case On, Off:
		if err := l.write("trigger", "none"); err != nil {
			return err
		}
		level := "0"
		if p == On {
			level = strconv.Itoa(l.max)
		}
		return l.write("brightness", level)
	}
	return l.fail("set", fmt.Errorf("unknown pattern %q", p))
}

func (l *sysfsLED) Close() error { return nil }

// gpioLED is an LED on a GPIO output line; blinking toggles it on the
// clock from a goroutine of its own.
type gpioLED struct {
	line  adapters.OutputLine
	clock clock.Clock

	mu   sync.Mutex
	stop chan struct{} // closes to end the blinking; nil: not blinking
	done chan struct{}
}

func (g *gpioLED) Set(ctx context.Context, p Pattern) error {
	g.stopBlinking()
	switch p {
	case On, Off:
		return g.line.Set(ctx, p == On)
	case Blink:
		if err := g.line.Set(ctx, true); err != nil {
			return err
		}
		g.mu.Lock()
		g.stop, g.done = make(chan struct{}), make(chan struct{})
		go g.blink(g.stop, g.done)
		g.mu.Unlock()
		return nil
	}
	return fmt.Errorf("unknown LED pattern %q", p)
}

func (g *gpioLED) blink(stop, done chan struct{}) {
	defer close(done)
	lit := true
	for clock.Sleep(g.clock, BlinkHalfPeriod*time.Millisecond, stop) {
		lit = !lit
		// A failed toggle is retried at the next half period; the writer
		// reported the line working when it started blinking.
		_ = g.line.Set(context.Background(), lit)
	}
}

func (g *gpioLED) stopBlinking() {
	g.mu.Lock()
	stop, done := g.stop, g.done
	g.stop, g.done = nil, nil
	g.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (g *gpioLED) Close() error {
	g.stopBlinking()
	return nil
}
