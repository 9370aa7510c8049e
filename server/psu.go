package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// SubjectPSUReadings reads the PSUs' telemetry and status.
const SubjectPSUReadings = "statemgr.psu.readings"

// MaxPSUPage bounds the PSUs one statemgr.psu.readings reply reads (they
// are read at once, one bus transaction sequence each): a larger platform
// is read page by page.
const MaxPSUPage = 32

// PSUs reads the platform's PSUs for statemgr.psu.readings. The assembly
// adapts the devices to it (assembly.PSUs); each reading carries its own
// error, so PSUReading fails only for a PSU it does not know or a read
// that could not be asked at all.
type PSUs interface {
	PSUNames() []string
	PSUReading(ctx context.Context, psu string) (PSUReading, error)
}

type (
	// PSUReadingsRequest asks for every PSU (ID empty) or the one named
	// ID (its platform file name, "psu0"); From and Limit page as in
	// ListRequest (Limit 1..MaxPSUPage, default MaxPSUPage).
	PSUReadingsRequest struct {
		ID    string `json:"id,omitempty"`
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// PSUReadingsReply is a page of PSUs, in platform file order.
	PSUReadingsReply struct {
		PSUs []PSUReading `json:"psus"`
		Next string       `json:"next,omitempty"`
		More bool         `json:"more"`
	}
	// PSUReading is one read of a PSU: VIN, VOUT, IOUT and temperature,
	// and its status registers.
	PSUReading struct {
		ID       string      `json:"id"`      // "psu0"
		Chassis  string      `json:"chassis"` // "chassis.0"
		Readings []Reading   `json:"readings"`
		Status   StatusWords `json:"status"`
	}
	// Reading is one telemetry reading: the value in its unit, the raw
	// word and the format it was decoded in, when it was read, or why it
	// could not be (value and raw are then absent, or raw alone when the
	// word was read but not decoded).
	Reading struct {
		Quantity string    `json:"quantity"` // vin, vout, iout, temperature
		Value    *float64  `json:"value,omitempty"`
		Unit     string    `json:"unit"`          // V, A, °C
		Raw      *uint16   `json:"raw,omitempty"` // the word as read
		Format   string    `json:"format,omitempty"`
		Time     time.Time `json:"time"`
		Error    string    `json:"error,omitempty"`
	}
	// StatusWords is STATUS_WORD with its decoded flags (and those of
	// the detail registers it points at).
	StatusWords struct {
		Word      *uint16   `json:"word,omitempty"`
		PowerGood *bool     `json:"power_good,omitempty"`
		Flags     []string  `json:"flags,omitempty"` // "WORD.OFF", "INPUT.VIN_UV_FAULT", ...
		Time      time.Time `json:"time"`
		Error     string    `json:"error,omitempty"`
	}
)

// psuReadings answers statemgr.psu.readings.
func (s *Server) psuReadings(ctx context.Context, c *call) (any, error) {
	req, derr := decode[PSUReadingsRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if s.cfg.PSUs == nil {
		return nil, newError(ErrNotSupportedByPlatform, "statemgrd reads no PSUs here (it runs without the platform's devices)")
	}
	names := s.cfg.PSUs.PSUNames()
	if req.ID != "" {
		if !slices.Contains(names, req.ID) {
			known := "none"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			return nil, newError(ErrUnknownPSU, "no psu %q in the platform file (psus: %s)", req.ID, known)
		}
		names = []string{req.ID}
	}
	limit, derr := pageLimit(req.Limit, MaxPSUPage, MaxPSUPage)
	if derr != nil {
		return nil, derr
	}
	page, next, derr := idPage(names, func(n string) string { return n }, "a psu", req.From, limit)
	if derr != nil {
		return nil, derr
	}
	reply := PSUReadingsReply{PSUs: make([]PSUReading, len(page)), Next: next, More: next != ""}
	errs := make([]error, len(page))
	var wg sync.WaitGroup
	for i, name := range page {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply.PSUs[i], errs[i] = s.cfg.PSUs.PSUReading(ctx, name)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, newError(ErrUnavailable, "cannot read psu %s: %v", page[i], err)
		}
	}
	return reply, nil
}
