// Package snapshots makes recovery fast: a snapshot is a stream's state as of
// a stream sequence, so a component recovers from its newest snapshot plus
// the events after it instead of its whole history.
//
// Snapshots are derived data. The events stay the truth: a snapshot that
// fails to decode (corrupt, or written by a newer schema) is reported and
// skipped, and recovery falls back to an older one or to a full replay; it is
// never trusted. A snapshot that claims a sequence beyond the stream's head
// is skipped the same way.
//
// Implementations: snapshots/badger (in the event log's own database, under
// its own key prefix) and snapshots/memsnap (in memory, for tests and the
// simulation).
//
// Your responsibilities as a snapshotter:
//
//  1. Save a snapshot only of state built from events already appended
//     (Seq is the stream sequence of the last event the state includes).
//  2. Version the state's encoding (Schema) and make Decode refuse versions
//     it does not know.
//  3. Ask Policy.Due after each event; Save prunes to Policy.Keep.
package snapshots
