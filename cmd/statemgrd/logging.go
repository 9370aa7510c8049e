package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
)

func parseLevel(s string) (hclog.Level, error) {
	switch l := hclog.LevelFromString(s); l {
	case hclog.NoLevel, hclog.Off:
		return l, fmt.Errorf("log level %q: use trace, debug, info, warn or error", s)
	default:
		return l, nil
	}
}

// newLogger returns the daemon's one logger; every library logs through
// loggers named from it.
func newLogger(format, levelName string, w io.Writer) hclog.Logger {
	level, _ := parseLevel(levelName)
	return hclog.New(&hclog.LoggerOptions{
		Name:       "statemgr",
		Level:      level,
		Output:     w,
		JSONFormat: strings.EqualFold(format, "json"),
		Color:      hclog.AutoColor,
	})
}
