package process

import (
	"bufio"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// ring keeps the last lines of a process's output for error reports.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newRing(n int) *ring { return &ring{lines: make([]string, n)} }

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// last returns up to n of the most recent lines, oldest first.
func (r *ring) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(all, r.lines[r.next:]...)
	}
	all = append(all, r.lines[:r.next]...)
	if n < len(all) {
		all = all[len(all)-n:]
	}
	return all
}

// capture logs each line read from r and keeps it in the ring. A line
// longer than MaxLineBytes is cut there and the rest of it dropped. It
// returns at end of file or on a read error (the read end was closed).
func capture(r io.Reader, stream string, log hclog.Logger, keep *ring) {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	var skipping bool // inside the dropped tail of a long line
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		if !skipping {
			line := strings.ToValidUTF8(string(chunk), "\uFFFD")
			log.Info("output", "stream", stream, "line", line)
			keep.add(stream + ": " + line)
		}
		skipping = isPrefix
	}
}
