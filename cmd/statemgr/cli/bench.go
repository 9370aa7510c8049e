//go:build !bmc

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/logbench"
)

func newBenchCommand(g *globals) *cobra.Command {
	bench := &cobra.Command{
		Use:   "bench",
		Short: "Measure statemgr's storage on this machine",
	}
	bench.AddCommand(newBenchLogCommand(g))
	return bench
}

func newBenchLogCommand(g *globals) *cobra.Command {
	cfg := logbench.DefaultConfig()
	var only []string
	var profile string
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Benchmark the event log: appends against raw group commit and naive Badger, replay, recovery",
		Long: `Benchmark the durable event log (events/badger) on the disk holding --dir.

append:   N concurrent appenders (--appenders), each appending events with a
          256-byte payload to its own stream, against three systems run one
          after the other for every level and round: raw (one file, group
          commit with one write and one fdatasync), naive (Badger, one synced
          db.Update per event) and statemgr (the event log). Figures are the
          medians of --repeat rounds; targets at 64 appenders: statemgr
          >= 0.5x raw, >= 4x naive, p99 <= 5 ms.
replay:   a log of --replay-events events is built, then replayed whole with
          ScanAll (target >= 1M events/s) and with ReadAll paging.
recovery: one stream with snapshots every 100 events is recovered from a log
          of 10k events and from the long log; it should not grow.

The disk is shared and noisy, so read the ratios, not the absolute figures.
Everything is written under --dir and removed afterwards.`,
		Example: `  statemgr bench log
  statemgr bench log --appenders 64 --duration 5s --repeat 5 --only append
  statemgr bench log --dir /var/lib/statemgr --only replay,recovery -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Parts = nil
			for _, s := range only {
				p, err := logbench.ParsePart(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("%w: --only: %w", errUsage, err)
				}
				cfg.Parts = append(cfg.Parts, p)
			}
			p, err := badger.ParseProfile(profile)
			if err != nil {
				return fmt.Errorf("%w: --profile: %w", errUsage, err)
			}
			cfg.Profile = p
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("%w: %w", errUsage, err)
			}
			stderr := cmd.ErrOrStderr()
			cfg.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, "  "+format+"\n", args...) }
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBenchLog(ctx, cmd.OutOrStdout(), g.output, cfg)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&cfg.Appenders, "appenders", cfg.Appenders, "concurrency levels of the append benchmark, comma-separated")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of each append run")
	f.IntVar(&cfg.Repeat, "repeat", cfg.Repeat, "interleaved rounds per figure (figures are medians)")
	f.IntVar(&cfg.ReplayEvents, "replay-events", cfg.ReplayEvents, "events in the log the replay and recovery benchmarks build")
	f.StringVar(&cfg.Dir, "dir", os.TempDir(), "directory for the temporary stores; put it on the disk to measure")
	f.StringSliceVar(&only, "only", nil, "run only these parts: append, replay, recovery (comma-separated)")
	f.StringVar(&profile, "profile", string(badger.ProfileServer), "storage profile of the Badger stores: server or bmc")
	return cmd
}

func runBenchLog(ctx context.Context, out io.Writer, format string, cfg logbench.Config) error {
	rep, err := logbench.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench log: %w", err)
	}
	if format == outputJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("bench log: cannot write the report: %w", err)
		}
		return nil
	}
	if err := printBenchLog(out, rep); err != nil {
		return fmt.Errorf("bench log: cannot write the report: %w", err)
	}
	return nil
}

// printBenchLog writes rep as tables.
func printBenchLog(out io.Writer, rep *logbench.Report) error {
	w := &errWriter{w: out}
	e := rep.Env
	w.printf("statemgr bench log — %s, %s %s/%s, %d CPUs (%s), %s on %s, profile %s, %.0f s\n",
		rep.Started.Format("2006-01-02 15:04 UTC"), e.GoVersion, e.OS, e.Arch, e.NumCPU, e.CPUModel, e.Dir, e.Filesystem, e.Profile, rep.Seconds)
	if a := rep.Append; a != nil {
		w.printf("\nAppend: %d-byte payloads, %.1f s per run, medians of %d interleaved rounds;\n", a.PayloadBytes, a.RunSeconds, a.Repeat)
		w.printf("ratios are the median of each round's statemgr/raw and statemgr/naive\n\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "appenders\tsystem\tevents/s\tp50\tp99\tstatemgr/raw\tstatemgr/naive\t")
		for _, l := range a.Levels {
			for _, s := range l.Systems {
				vsRaw, vsNaive := "", ""
				if s.System == logbench.Statemgr {
					vsRaw, vsNaive = fmt.Sprintf("%.2f×", l.VsRaw), fmt.Sprintf("%.1f×", l.VsNaive)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Appenders, s.System, count(s.EventsPerSec), latency(s.P50Micros), latency(s.P99Micros), vsRaw, vsNaive)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		printVerdicts(w, a.Verdicts)
		if a.Verdicts == nil {
			w.printf("  (targets are checked at %d appenders, which this run did not measure)\n", logbench.TargetAppenders)
		}
	}
	if r := rep.Replay; r != nil {
		w.printf("\nReplay: %d events in %d streams (built in %.1f s, opened in %.0f ms), medians of %d\n\n",
			r.Build.Events, r.Build.Streams, r.Build.Seconds, r.OpenMillis, len(r.ScanAll.Runs))
		w.printf("  ScanAll                 %8s events/s  %6.2f s\n", count(r.ScanAll.EventsPerSec), r.ScanAll.Seconds)
		w.printf("  ReadAll, pages of %-5d %8s events/s  %6.2f s\n", r.PageSize, count(r.ReadAll.EventsPerSec), r.ReadAll.Seconds)
		printVerdicts(w, r.Verdicts)
	}
	if r := rep.Recovery; r != nil {
		w.printf("\nRecovery of %s (%d events; %s), medians of %d\n\n", r.Stream, r.StreamEvents, r.Policy, r.Rounds)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "log events\topen\twith snapshots\tsnapshot used\treplayed after it\tfull replay\tevents\t")
		for _, l := range r.Logs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%d\t\n", l.LogEvents, latency(l.OpenMillis*1000), latency(l.SnapshotMicros), l.FromSnapshot, l.Replayed, latency(l.FullMicros), l.FullReplayed)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		printVerdicts(w, r.Verdicts)
	}
	met, all := 0, rep.Verdicts()
	for _, v := range all {
		if v.Met {
			met++
		}
	}
	w.printf("\n%d of %d targets met.\n", met, len(all))
	return w.err
}

func printVerdicts(w *errWriter, vs []logbench.Verdict) {
	if len(vs) > 0 {
		w.printf("\n")
	}
	for _, v := range vs {
		mark := "met   "
		if !v.Met {
			mark = "MISSED"
		}
		unit := " " + v.Unit
		if v.Unit == "×" {
			unit = v.Unit
		}
		w.printf("  [%s] %s: measured %.2f%s\n", mark, v.Target, v.Measured, unit)
	}
}

// count renders a rate with a k or M suffix.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// latency renders microseconds as µs, ms or s.
func latency(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2f s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2f ms", us/1e3)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// errWriter remembers the first write error, so that a report is written
// without checking every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
