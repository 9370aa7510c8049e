package logbench

import "errors"

// Errors of the logbench package; test with errors.Is.
var (
	// ErrConfig means a benchmark was asked for something it cannot run:
	// no appenders, a zero duration, a log too small to compare.
	ErrConfig = errors.New("invalid benchmark configuration")
	// ErrCheck means a benchmark's own result check failed: a replay saw
	// the wrong number of events, or a recovered state differs from the one
	// built. The figures of such a run are not reported.
	ErrCheck = errors.New("benchmark result check failed")
)
