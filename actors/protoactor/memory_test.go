package protoactor

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// The operation index always counts exactly the operations in Recent,
// through appends, trimming past recentOps and snapshots (which do not
// carry it).
func TestOperationIndexFollowsRecent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m memory
		steps := rapid.IntRange(0, 3*recentOps).Draw(t, "steps")
		op := 0
		for seq := uint64(1); seq <= uint64(steps); seq++ {
			// Mostly new operations, some with several records in a row.
			if rapid.IntRange(0, 3).Draw(t, "same op") > 0 {
				op++
			}
			r := actors.Record{Event: machine.Event{Type: machine.EventIgnored, Input: machine.KindRequest, Operation: fmt.Sprint("op-", op)}}
			var err error
			if m, err = applyDecoded(m, r, events.Event{StreamSeq: seq}); err != nil {
				t.Fatal(err)
			}
			if rapid.IntRange(0, 20).Draw(t, "snapshot") == 0 {
				state, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				m = memory{}
				if err := json.Unmarshal(state, &m); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]int{}
			for _, r := range m.Recent {
				want[r.Op]++
			}
			if got := m.opIndex(); !maps.Equal(got, want) || len(m.Recent) > recentOps {
				t.Fatalf("after %d records: index %v, Recent (%d) counts %v", seq, got, len(m.Recent), want)
			}
		}
	})
}
