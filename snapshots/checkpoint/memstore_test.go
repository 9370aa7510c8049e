package checkpoint_test

import (
	"testing"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/checkpointtest"
)

func TestMemStoreContract(t *testing.T) {
	checkpointtest.Run(t, func(*testing.T) checkpoint.Store { return checkpoint.NewMemStore() })
}
