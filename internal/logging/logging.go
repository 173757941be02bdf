// Package logging builds trimtab's slog logger and routes the Kubernetes
// libraries' klog and logr output into the same stream, so one process
// writes one format.
package logging

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Format is a log output format.
type Format string

// The formats New writes.
const (
	JSON   Format = "json"
	Logfmt Format = "logfmt"
)

// ParseLevel reads a log level. Its error does not name the setting: the
// caller knows whether the value came from a flag or the environment.
func ParseLevel(s string) (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("want debug, info, warn or error")
	}
	return lvl, nil
}

// ParseFormat reads a log format, in any case. Its error does not name the
// setting, as ParseLevel's.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSON, Logfmt:
		return f, nil
	}
	return "", errors.New("want json or logfmt")
}

// New returns a logger writing level and above to w in format, and makes
// it the sink of klog and controller-runtime. The process stops when stop
// is done (its signal context): from then on, the libraries' reports of
// requests cut short are not errors.
func New(stop context.Context, w io.Writer, level slog.Level, format Format) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == Logfmt {
		h = slog.NewTextHandler(w, opts)
	}
	logger := slog.New(h)
	lr := libraryLogger(h, func() bool { return stop.Err() != nil })
	klog.SetLogger(lr)
	ctrl.SetLogger(lr)
	return logger
}

func libraryLogger(h slog.Handler, stopping func() bool) logr.Logger {
	return logr.FromSlogHandler(libraryHandler{h, stopping})
}

// libraryHandler passes the Kubernetes libraries' records on, except that
// two reports of a graceful stop become Info, since logged as errors on
// every rollout they would page whoever alerts on the controller's errors:
//   - controller-runtime's report of the leader Lease released: releasing
//     it on the way out calls OnStoppedLeading, which reports "leader
//     election lost" after the stop began
//     (kubernetes-sigs/controller-runtime#3535);
//   - once the stop began, an error caused by a cancelled context: a
//     request cut short then (the Lease renewal that was in flight at
//     SIGTERM: "Error retrieving lease lock … context canceled") failed
//     because it was asked to. Before the stop, it stays an error.
type libraryHandler struct {
	slog.Handler
	stopping func() bool
}

func (h libraryHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && (isLeaseReleasedOnStop(r) || isCancelled(r) && h.stopping()) {
		if !h.Handler.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		r.Level = slog.LevelInfo
	}
	return h.Handler.Handle(ctx, r)
}

func (h libraryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return libraryHandler{h.Handler.WithAttrs(attrs), h.stopping}
}

func (h libraryHandler) WithGroup(name string) slog.Handler {
	return libraryHandler{h.Handler.WithGroup(name), h.stopping}
}

func isLeaseReleasedOnStop(r slog.Record) bool {
	if r.Message != "error received after stop sequence was engaged" {
		return false
	}
	err := recordError(r)
	return err != nil && err.Error() == "leader election lost"
}

func isCancelled(r slog.Record) bool {
	return errors.Is(recordError(r), context.Canceled)
}

// recordError is the error logr's Error put in the record, or nil.
func recordError(r slog.Record) error {
	var found error
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			found = err
		}
		return found == nil
	})
	return found
}
