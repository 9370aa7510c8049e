// Package badger is the durable events.Log on Badger v4.
//
// Durability: SyncWrites is always on, so a commit returns only after the
// write-ahead log is synced. A single committer goroutine takes every append
// waiting at that moment and commits them in one Badger transaction, so
// concurrent appenders share one fsync (group commit) while each append
// stays atomic and individually acknowledged.
//
// Layout (one key space, byte order = iteration order; sequences are
// big-endian fixed width and stream ids are followed by a 0x00 separator, so
// "host.1" never prefix-matches "host.10"):
//
//	g <global seq>                 the encoded event (events.Encode)
//	s <stream> 0x00 <stream seq>   the event's global seq
//	h <stream>                     the stream's head
//	k <stream> 0x00 <key>          stream seq of an idempotency key
//	H                              the global head
//
// The event, its stream index entry, both heads and its idempotency key are
// written in the same transaction: a crash leaves all or none. Other
// packages (snapshots/badger) keep their own prefixes in the same database;
// see DB.
//
// After a failed commit (a full disk, a failed sync) the log refuses appends
// with events.ErrLogFailed until it is reopened: what reached the disk is then
// unknown, and reopening recovers the committed state. Before that happens,
// the free-space guard refuses appends with events.ErrNoSpace alone while
// less than the reserve (Profile.Reserve, sized to the filesystem) is free;
// those resume by themselves. CanAppend tells which, without writing.
//
// Compaction (compaction.go): the bmc profile runs none of Badger's
// compaction workers, which wake every 50 ms each even when idle; the log
// compacts level 0 itself (DB.Flatten) while commits arrive and for a
// moment after, and once a minute otherwise, so an idle log wakes nothing.
//
// Integrity (verify.go, highwater.go): Open checks the MANIFEST, every
// table and every record against a high-water mark kept outside Badger
// (STATEMGR-HIGHWATER, synced before each acknowledgement), and refuses a
// damaged log with an *events.DamageError instead of starting with
// acknowledged records missing or reusing their global sequences.
//
// Restore (restore.go) replaces a closed log with a checkpoint's records
// atomically: it stages and verifies the new log beside the old one, makes
// a commit file durable, then swaps the directories; Open first finishes a
// committed restore a crash interrupted and discards an uncommitted one, so
// a log is always the old one or the new one. The sequences between the
// checkpoint's head and the highest ever acknowledged are filled with
// skipped_by_restore events on stream "restore", then a log_restored event
// records what was restored and what it replaced.
package badger
