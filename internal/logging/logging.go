// Package logging builds trimtab's slog logger and routes the Kubernetes
// libraries' klog and logr output into the same stream, so one process
// writes one format.
package logging

import (
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
	lr := logr.FromSlogHandler(h)
	klog.SetLogger(lr)
	ctrl.SetLogger(lr)
	return logger, nil
}
