package scrape

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenMetricsCreatedLinesAreDropped: docs/metrics.md says _created
// series are dropped; a labelled one (every counter with labels in client
// libraries) must be dropped as well as a bare one.
func TestOpenMetricsCreatedLinesAreDropped(t *testing.T) {
	fams, err := parse([]byte(`# TYPE jobs counter
jobs_total{queue="a"} 3
jobs_created{queue="a"} 1.7e9
# TYPE rpc histogram
rpc_bucket{method="get",le="+Inf"} 2
rpc_count{method="get"} 2
rpc_sum{method="get"} 1
rpc_created{method="get"} 1.7e9
# EOF
`), "application/openmetrics-text; version=1.0.0")
	require.NoError(t, err)
	names := []string{}
	for n := range fams {
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{"jobs_total", "rpc"}, names)
}
