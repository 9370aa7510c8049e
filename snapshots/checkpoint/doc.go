// Package checkpoint copies the whole durable state of a statemgr daemon —
// the event log up to one global sequence with the snapshots, saga and
// schedule records, service records and indexes stored beside it, and the
// platform file in force — into a checkpoint, while the daemon runs, and
// keeps checkpoints in a Store.
//
// A checkpoint is a Manifest (its id, global sequence, time, platform name
// and hash, size and SHA-256, format version) and a content (format.go):
// every key and value of the log's database as of one read transaction
// (events/badger's Log.Export), so it is consistent at its sequence even
// while appends go on. The daemon's own configuration file is not part of
// it: it holds credentials and belongs to the machine, not the state.
//
// Stores: snapshots/checkpoint/file (a local directory: a USB key or an
// NFS mount) and snapshots/checkpoint/jetstream (a NATS JetStream object
// store bucket); MemStore here, in memory with injectable faults. Every
// store lists a checkpoint only once it is wholly durable and checks a
// Put's content against its manifest (Verify).
//
// Manager creates one checkpoint at a time (spooling the content to learn
// its checksum before the store lists it), applies retention (keep the N
// newest) and lists, shows and deletes. Read parses and checks a content
// against its manifest. Restoring is the subpackage restore's, which alone
// links events/badger: the API's types come from this package, and the
// board's CLI must not carry the log's database.
package checkpoint
