package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGracefulStopIsNotAnError logs through the logger New gives
// controller-runtime and klog, as the manager does, and reads the JSON
// lines back.
func TestGracefulStopIsNotAnError(t *testing.T) {
	cases := []struct {
		name      string
		level     string
		msg       string
		err       error
		running   bool   // the stop has not begun
		wantLevel string // "" when nothing is written
	}{
		{"the Lease released on a graceful stop is Info", "info", "error received after stop sequence was engaged", errors.New("leader election lost"), false, "INFO"},
		{"and is not written when only errors are", "error", "error received after stop sequence was engaged", errors.New("leader election lost"), false, ""},
		{"another error after the stop stays an error", "info", "error received after stop sequence was engaged", errors.New("informer sync failed"), false, "ERROR"},
		{"leader election lost while running stays an error", "info", "problem running manager", errors.New("leader election lost"), true, "ERROR"},
		{"a Lease renewal cut short by the stop is Info", "info", "Error retrieving lease lock",
			&url.Error{Op: "Get", URL: "https://127.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/x/leases/y", Err: context.Canceled}, false, "INFO"},
		{"a wrapped cancellation is Info", "info", "Reconciler error", fmt.Errorf("list pods: %w", context.Canceled), false, "INFO"},
		{"a deadline exceeded stays an error", "info", "Error retrieving lease lock", fmt.Errorf("get lease: %w", context.DeadlineExceeded), false, "ERROR"},
		{"a cancellation before the stop stays an error", "info", "Reconciler error", fmt.Errorf("list pods: %w", context.Canceled), true, "ERROR"},
		{"an error that only says canceled stays an error", "info", "Reconciler error", errors.New("context canceled"), false, "ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var lvl slog.Level
			require.NoError(t, lvl.UnmarshalText([]byte(tc.level)))
			libraryLogger(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: lvl}), func() bool { return !tc.running }).
				WithName("manager").WithValues("controller", "x").Error(tc.err, tc.msg)
			if tc.wantLevel == "" {
				require.Empty(t, out.String())
				return
			}
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out.String())), &rec), out.String())
			require.Equal(t, tc.wantLevel, rec["level"])
			require.Equal(t, tc.msg, rec["msg"])
			require.Equal(t, tc.err.Error(), rec["err"])
			require.Equal(t, "x", rec["controller"], "attributes added before the record are kept")
		})
	}
}
