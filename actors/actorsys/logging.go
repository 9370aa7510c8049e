package actorsys

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogHandler sends protoactor's slog records to an hclog logger, so that
// one logger carries every library's output.
type slogHandler struct {
	l     hclog.Logger
	attrs []any
}

// NewSlogLogger returns a *slog.Logger that writes through l.
func NewSlogLogger(l hclog.Logger) *slog.Logger { return slog.New(&slogHandler{l: l}) }

func level(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		// protoactor logs routine lifecycle at Info; keep it below ours.
		return hclog.Debug
	default:
		return hclog.Trace
	}
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.l.GetLevel() <= level(l)
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := append([]any(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, a.Key, a.Value.Resolve().Any())
		return true
	})
	h.l.Log(level(r.Level), r.Message, args...)
	return nil
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	attrs := append([]any(nil), h.attrs...)
	for _, a := range as {
		attrs = append(attrs, a.Key, a.Value.Resolve().Any())
	}
	return &slogHandler{l: h.l, attrs: attrs}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	return &slogHandler{l: h.l.Named(name), attrs: h.attrs}
}
