//go:build footprint

package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/statemgr/statemgr/events/badger"
)

// floorProgram is the idle floor of the footprint report (.ci/footprint,
// issue 16), in a development build only (-tags footprint): the parts of
// the daemon whose timers statemgr cannot turn off, started alone with the
// daemon's own flags and configuration, so that the report can set the
// idle daemon beside what those parts cost by themselves in the same run.
//
//	statemgrd-floor nats [statemgrd flags]   the embedded NATS server and the daemon's connection to it
//	statemgrd-floor log  [statemgrd flags]   that, and the event log opened with the storage profile
const floorProgram = "statemgrd-floor"

func init() {
	programs = append(programs, floorProgram)
	developmentPrograms[floorProgram] = floor
}

func floor(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "nats" && args[0] != "log") {
		fmt.Fprintln(stderr, "statemgrd-floor: say which floor: nats or log, then statemgrd's flags")
		return 2
	}
	level := args[0]
	o, err := parseFlags(args[1:])
	if err != nil {
		fmt.Fprintln(stderr, "statemgrd-floor:", err)
		return 2
	}
	cfg, err := load(o)
	if err != nil {
		fmt.Fprintln(stderr, "statemgrd-floor:", err)
		return 2
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	// As start does: the checkpoints' JetStream store, when configured,
	// is part of the embedded server.
	cfg.NATS.jetStreamDir = cfg.Checkpoints.jetStreamDir(cfg)
	ns, nc, err := connectNATS(cfg.NATS, logger)
	if err != nil {
		logger.Error("cannot start", "error", err)
		return 1
	}
	defer func() {
		nc.Close()
		if ns != nil {
			ns.Shutdown()
		}
	}()
	if level == "log" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			logger.Error("cannot create data directory", "error", err)
			return 1
		}
		profile, _ := badger.ParseProfile(cfg.StorageProfile)
		log, err := badger.Open(badger.Options{Dir: eventsDir(cfg), Profile: profile, Logger: logger.Named("log")})
		if err != nil {
			logger.Error("cannot open the event log", "error", err)
			return 1
		}
		defer log.Close()
	}
	logger.Info("ready", "floor", level)
	<-signals
	return 0
}
