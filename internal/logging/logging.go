// Package logging builds trimtab's slog logger and routes the Kubernetes
// libraries' klog and logr output into the same stream, so one process
// writes one format.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
)

// New returns a logger writing level and above to w in format "json" or
// "logfmt", and makes it the sink of klog and controller-runtime.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log.level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "logfmt":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log.format %q: want json or logfmt", format)
	}
	logger := slog.New(h)
	lr := libraryLogger(h)
	klog.SetLogger(lr)
	ctrl.SetLogger(lr)
	return logger, nil
}

func libraryLogger(h slog.Handler) logr.Logger { return logr.FromSlogHandler(libraryHandler{h}) }

// libraryHandler passes the Kubernetes libraries' records on, except that
// controller-runtime's report of the leader Lease released on a graceful
// stop becomes Info: releasing the Lease on the way out calls
// OnStoppedLeading, which reports "leader election lost" after the stop
// began (kubernetes-sigs/controller-runtime#3535). Logged as an error on
// every rollout, it would page whoever alerts on the controller's errors.
type libraryHandler struct{ slog.Handler }

func (h libraryHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && isLeaseReleasedOnStop(r) {
		if !h.Handler.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		r.Level = slog.LevelInfo
	}
	return h.Handler.Handle(ctx, r)
}

func (h libraryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return libraryHandler{h.Handler.WithAttrs(attrs)}
}

func (h libraryHandler) WithGroup(name string) slog.Handler {
	return libraryHandler{h.Handler.WithGroup(name)}
}

func isLeaseReleasedOnStop(r slog.Record) bool {
	if r.Message != "error received after stop sequence was engaged" {
		return false
	}
	released := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" && err.Error() == "leader election lost" {
			released = true
		}
		return !released
	})
	return released
}
