package coordinator

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/events"
)

// Stream is the coordinator's own stream: operations, decisions and their
// evidence. Sagas have their own streams (package saga).
const Stream = "coordinator"

// Record types of Stream.
const (
	RecOpAccepted    = "op_accepted"
	RecOpRejected    = "op_rejected"
	RecOpFinished    = "op_finished"
	RecOverride      = "interlock_overridden"
	RecAcknowledged  = "alert_acknowledged"
	RecPowerLoss     = "power_loss"
	RecAPRDecided    = "apr_decided"
	RecScheduled     = "scheduled"
	RecScheduleFired = "schedule_fired"
	RecBootAttempt   = "boot_attempt"
	RecBootReset     = "boot_attempts_reset"
	RecEmergency     = "emergency"
	RecReconciled    = "reconciled"
	// RecRestoreSettled: Start found the log restored from a checkpoint
	// and dealt with it without actuating (restored.go).
	RecRestoreSettled = "restore_settled"
	// RecPSUUnreachable raises a PSU's standing alert (PSUAlerts),
	// RecPSUAnswers clears it.
	RecPSUUnreachable = "psu_unreachable"
	RecPSUAnswers     = "psu_answers"
)

const recordSchema = 1

// Record is the payload of a coordinator record; which fields are set
// depends on its type.
type Record struct {
	Op         string               `json:"op,omitempty"`
	Request    *Request             `json:"request,omitempty"`
	Result     *Result              `json:"result,omitempty"`
	Error      string               `json:"error,omitempty"`
	Interlock  Interlock            `json:"interlock,omitempty"`
	Requester  string               `json:"requester,omitempty"`
	Component  actors.ID            `json:"component,omitempty"`
	Evidence   []string             `json:"evidence,omitempty"`
	States     map[actors.ID]string `json:"states,omitempty"` // last observed states
	Policy     RestorePolicy        `json:"policy,omitempty"`
	Applied    bool                 `json:"applied,omitempty"`
	Cause      string               `json:"cause,omitempty"`
	Actions    []string             `json:"actions,omitempty"`
	Schedule   string               `json:"schedule,omitempty"`
	At         time.Time            `json:"at,omitzero"`
	Used       int                  `json:"used,omitempty"`
	Emergency  EmergencyKind        `json:"emergency,omitempty"`
	Action     EmergencyAction      `json:"action,omitempty"`
	Superseded []string             `json:"superseded,omitempty"`
	Trigger    string               `json:"trigger,omitempty"`
	// Restored is the global sequence of the log_restored event a record
	// of a restore's start answers.
	Restored uint64 `json:"restored,omitempty"`
	PSU      string `json:"psu,omitempty"`
}

// DecodeRecord reads a coordinator record.
func DecodeRecord(e events.Event) (Record, error) {
	if e.Schema != recordSchema {
		return Record{}, fmt.Errorf("%w: %s record %d has schema %d, this build reads %d", events.ErrUnknownVersion, e.Stream, e.StreamSeq, e.Schema, recordSchema)
	}
	var r Record
	if err := json.Unmarshal(e.Payload, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %s record %d: %w", events.ErrCorrupt, e.Stream, e.StreamSeq, err)
	}
	return r, nil
}

func encodeRecord(typ, key string, r Record, now time.Time) (events.Event, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return events.Event{}, fmt.Errorf("cannot encode %s: %w", typ, err)
	}
	return events.Event{Type: typ, Schema: recordSchema, Time: now, IdempotencyKey: key, Operation: r.Op, Requester: r.Requester, Cause: r.Cause, Payload: b}, nil
}
