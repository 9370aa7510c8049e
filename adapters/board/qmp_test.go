package board

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"
)

// qmp is a QEMU Machine Protocol client: one command at a time, events
// skipped.
type qmp struct {
	mu   sync.Mutex
	conn net.Conn
	in   *bufio.Reader
}

// dialQMP connects to QEMU's QMP unix socket, retrying until QEMU has
// created it, and leaves capabilities negotiation done.
func dialQMP(path string, within time.Duration) (*qmp, error) {
	deadline := time.Now().Add(within)
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			q := &qmp{conn: conn, in: bufio.NewReader(conn)}
			if _, err := q.readReply(); err != nil { // the greeting
				conn.Close()
				return nil, fmt.Errorf("cannot read the QMP greeting: %w", err)
			}
			if _, err := q.execute("qmp_capabilities", nil); err != nil {
				conn.Close()
				return nil, err
			}
			return q, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot connect to QMP at %s: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string          `json:"event"`
	QMP   json.RawMessage `json:"QMP"`
}

func (q *qmp) readReply() (qmpReply, error) {
	for {
		q.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := q.in.ReadBytes('\n')
		if err != nil {
			return qmpReply{}, err
		}
		var r qmpReply
		if err := json.Unmarshal(line, &r); err != nil {
			return qmpReply{}, fmt.Errorf("bad QMP line %q: %w", line, err)
		}
		if r.Event == "" {
			return r, nil
		}
	}
}

func (q *qmp) execute(cmd string, args any) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	msg := map[string]any{"execute": cmd}
	if args != nil {
		msg["arguments"] = args
	}
	b, _ := json.Marshal(msg)
	q.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("cannot send QMP %s: %w", cmd, err)
	}
	r, err := q.readReply()
	if err != nil {
		return nil, fmt.Errorf("QMP %s: %w", cmd, err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("QMP %s %v: %s: %s", cmd, args, r.Error.Class, r.Error.Desc)
	}
	return r.Return, nil
}

func (q *qmp) getBool(path, prop string) (bool, error) {
	raw, err := q.execute("qom-get", map[string]any{"path": path, "property": prop})
	if err != nil {
		return false, err
	}
	var v bool
	return v, json.Unmarshal(raw, &v)
}

func (q *qmp) getUint(path, prop string) (uint64, error) {
	raw, err := q.execute("qom-get", map[string]any{"path": path, "property": prop})
	if err != nil {
		return 0, err
	}
	var v uint64
	return v, json.Unmarshal(raw, &v)
}

func (q *qmp) set(path, prop string, value any) error {
	_, err := q.execute("qom-set", map[string]any{"path": path, "property": prop, "value": value})
	return err
}

func (q *qmp) close() error { return q.conn.Close() }
