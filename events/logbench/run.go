package logbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/statemgr/statemgr/events/badger"
)

// Part names one benchmark of the suite.
type Part string

// The parts of the suite, in the order Run runs them.
const (
	PartAppend   Part = "append"
	PartReplay   Part = "replay"
	PartRecovery Part = "recovery"
)

// Parts lists every Part in run order.
var Parts = []Part{PartAppend, PartReplay, PartRecovery}

// ParsePart returns the part named s.
func ParsePart(s string) (Part, error) {
	if p := Part(s); slices.Contains(Parts, p) {
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown part %q: use %q, %q or %q", ErrConfig, s, PartAppend, PartReplay, PartRecovery)
}

// Config configures Run.
type Config struct {
	// Dir is where the temporary stores are created (and removed); put it
	// on the disk you want to measure. Empty means os.TempDir().
	Dir string
	Options
	// Appenders are the concurrency levels of the Append benchmark.
	Appenders []int
	// Duration is how long each Append run lasts.
	Duration time.Duration
	// Repeat is how many interleaved rounds each figure is the median of.
	Repeat int
	// ReplayEvents is the length of the long log the Replay and Recovery
	// benchmarks build.
	ReplayEvents int
	// Parts are the benchmarks to run; empty means all.
	Parts []Part
	// Progress, if set, receives a line after each run.
	Progress func(format string, args ...any)
}

// DefaultConfig is the full suite: 1, 8, 64 and 256 appenders for 2 s,
// 3 rounds, a replay log of 1M events.
func DefaultConfig() Config {
	return Config{
		Options:      Options{Profile: badger.ProfileServer, PayloadSize: DefaultPayloadSize},
		Appenders:    []int{1, 8, 64, 256},
		Duration:     2 * time.Second,
		Repeat:       3,
		ReplayEvents: 1_000_000,
	}
}

func (c Config) runs(p Part) bool { return len(c.Parts) == 0 || slices.Contains(c.Parts, p) }

func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		c.Progress(format, args...)
	}
}

// maxAppenders bounds a concurrency level; past it the benchmark measures
// the Go scheduler rather than the log.
const maxAppenders = 100_000

func (c Config) validateAppend() error {
	if len(c.Appenders) == 0 {
		return fmt.Errorf("%w: no appender counts; pass e.g. 1,8,64,256", ErrConfig)
	}
	for _, n := range c.Appenders {
		if n < 1 || n > maxAppenders {
			return fmt.Errorf("%w: %d appenders; each count must be between 1 and %d", ErrConfig, n, maxAppenders)
		}
	}
	if c.Duration <= 0 {
		return fmt.Errorf("%w: run duration %v; pass a positive duration such as 2s", ErrConfig, c.Duration)
	}
	if c.Repeat < 1 {
		return fmt.Errorf("%w: %d repetitions; pass at least 1", ErrConfig, c.Repeat)
	}
	return nil
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	for _, p := range c.Parts {
		if _, err := ParsePart(string(p)); err != nil {
			return err
		}
	}
	if c.Profile != "" {
		if _, err := badger.ParseProfile(string(c.Profile)); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if c.PayloadSize != 0 && c.PayloadSize < rawRecordHeader {
		return fmt.Errorf("%w: payload of %d bytes; pass at least %d", ErrConfig, c.PayloadSize, rawRecordHeader)
	}
	if c.Dir != "" {
		st, err := os.Stat(c.Dir)
		if err != nil {
			return fmt.Errorf("%w: benchmark directory: %w", ErrConfig, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%w: benchmark directory %s is not a directory", ErrConfig, c.Dir)
		}
	}
	if c.Repeat < 1 {
		return fmt.Errorf("%w: %d repetitions; pass at least 1", ErrConfig, c.Repeat)
	}
	if c.runs(PartAppend) {
		if err := c.validateAppend(); err != nil {
			return err
		}
	}
	if (c.runs(PartReplay) || c.runs(PartRecovery)) && c.ReplayEvents <= SmallLogEvents {
		return fmt.Errorf("%w: a replay log of %d events; pass more than %d, the short log recovery is compared with", ErrConfig, c.ReplayEvents, SmallLogEvents)
	}
	return nil
}

// Env describes where a report was measured.
type Env struct {
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Dir        string `json:"dir"`
	Filesystem string `json:"filesystem,omitempty"`
	Profile    string `json:"profile"`
}

// Report is the outcome of Run; a part that was not run is nil.
type Report struct {
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Env      Env             `json:"env"`
	Append   *AppendReport   `json:"append,omitempty"`
	Replay   *ReplayReport   `json:"replay,omitempty"`
	Recovery *RecoveryReport `json:"recovery,omitempty"`
}

// Verdicts returns every target verdict of the report.
func (r *Report) Verdicts() []Verdict {
	var v []Verdict
	if r.Append != nil {
		v = append(v, r.Append.Verdicts...)
	}
	if r.Replay != nil {
		v = append(v, r.Replay.Verdicts...)
	}
	if r.Recovery != nil {
		v = append(v, r.Recovery.Verdicts...)
	}
	return v
}

// Run runs the parts of the suite cfg selects, in the order of Parts. The
// Replay and Recovery benchmarks share one long log.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if cfg.Dir == "" {
		cfg.Dir = os.TempDir()
	}
	if cfg.Profile == "" {
		cfg.Profile = badger.ProfileServer
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep = &Report{Started: time.Now().UTC(), Env: environment(cfg)}
	if cfg.runs(PartAppend) {
		if rep.Append, err = RunAppend(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.runs(PartReplay) || cfg.runs(PartRecovery) {
		dir, built, err := buildIn(ctx, cfg, cfg.ReplayEvents)
		if err != nil {
			return nil, err
		}
		if rep.Replay, rep.Recovery, err = replayAndRecover(ctx, cfg, dir, built); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// replayAndRecover runs the parts that read the long log in dir, then
// removes it.
func replayAndRecover(ctx context.Context, cfg Config, dir string, built BuildStats) (replay *ReplayReport, recovery *RecoveryReport, err error) {
	defer removeDir(dir, &err)
	if cfg.runs(PartReplay) {
		if replay, err = RunReplay(ctx, cfg, dir, built); err != nil {
			return nil, nil, err
		}
	}
	if cfg.runs(PartRecovery) {
		if recovery, err = RunRecovery(ctx, cfg, dir, built); err != nil {
			return nil, nil, err
		}
	}
	return replay, recovery, nil
}

func environment(cfg Config) Env {
	return Env{
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel:   cpuModel(),
		Dir:        cfg.Dir,
		Filesystem: filesystem(cfg.Dir),
		Profile:    string(cfg.Profile),
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "" where
// there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// filesystem names the type of the filesystem holding dir, as statfs
// reports it, or "" if it cannot tell.
func filesystem(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return ""
	}
	names := map[int64]string{
		unix.EXT4_SUPER_MAGIC:      "ext2/3/4",
		unix.XFS_SUPER_MAGIC:       "xfs",
		unix.BTRFS_SUPER_MAGIC:     "btrfs",
		unix.TMPFS_MAGIC:           "tmpfs (fsync is free here: not a disk measurement)",
		unix.OVERLAYFS_SUPER_MAGIC: "overlayfs",
		unix.F2FS_SUPER_MAGIC:      "f2fs",
	}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("statfs type %#x", st.Type)
}
