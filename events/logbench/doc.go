// Package logbench measures statemgr's durable event log (events/badger)
// against two baselines on the same disk, in the same run, so that every
// figure can be read as a ratio: the shared development disks are noisy
// (an fsync takes 75 µs for a while and 1–3 ms for minutes), and absolute
// numbers from different moments do not compare.
//
// Three measurements:
//
//   - Append: N concurrent appenders, each appending events with a fixed
//     payload to its own stream host.<i>, against three systems run one after
//     the other for every concurrency level and repetition (interleaved):
//     Raw, one file written by a single goroutine that writes each waiting
//     group with one write and one fdatasync (the disk's group-commit
//     ceiling); Naive, Badger with SyncWrites and one db.Update per event; and
//     Statemgr, events/badger's Log.Append. Medians of throughput and of the
//     p50/p99 latencies are reported, with ratios and the targets at 64
//     appenders (Statemgr ≥ 0.5× Raw, ≥ 4× Naive, p99 ≤ 5 ms).
//   - Replay: a log of M events in M/100 streams is built (not timed), reopened
//     and replayed whole with (*badger.Log).ScanAll and with ReadAll paging.
//   - Recovery: one stream, "host.recover", of 1050 events with snapshots
//     every 100 events (keeping 3) is recovered with snapshots.Recover from a
//     log of 10k events and from a log of M events, to show that recovery
//     does not grow with the log; a full replay of the stream without
//     snapshots is timed beside it.
//
// Everything is written to temporary directories under Config.Dir and
// removed afterwards. The Naive baseline shares the profile of the Statemgr
// log exactly: it opens an events/badger Log and writes through its DB under
// its own key prefixes, 'x' <stream> 0x00 <seq> for events and 'X' <stream>
// for heads, which neither the log nor the snapshot store uses.
//
// Run runs the whole suite for the "statemgr bench log" command; Measure,
// OpenAppender, Build, Scan and RecoverTarget are the pieces, reused by the
// Go benchmarks in events/badger. OpenAppender also opens Memory, the same
// appends on events/memlog, which no round runs: the server's benchmarks
// use Raw, Statemgr and Memory as the floors of a durable request.
package logbench
