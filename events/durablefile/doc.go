// Package durablefile writes small files so that a crash or a power loss at
// any instant leaves either the old file or the new one, complete, and the
// change itself durable: write a temporary file beside the target, fsync
// it, rename it over the target, fsync the directory. The event log's
// markers, the checkpoints' files, the daemon's platform, boot id and BMC
// reset request, and the supervised services' pid files all use it, so
// there is one implementation of the sequence to get right.
//
// It sits under events/ because that is the lowest level of the tree:
// every package that writes such a file may import it.
package durablefile
