package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), reg, Info{Version: "1.2.3", Commit: "abc"})
	require.NoError(t, err)

	cases := []struct {
		name, path string
		code       int
	}{
		{"version", "/api/v1/version", http.StatusOK},
		{"unknown route", "/api/v1/nope/123", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			require.Equal(t, tc.code, w.Code)
		})
	}

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/version", nil))
	var got Info
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Equal(t, Info{Version: "1.2.3", Commit: "abc"}, got)

	// Unmatched paths share one label value, so scanners cannot blow up cardinality.
	n, err := testutil.GatherAndCount(reg, "trimtab_http_request_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 2, n, "one series for the version route and one for all unmatched paths")
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
