package scrape

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExtrapolatedRate(t *testing.T) {
	cases := []struct {
		name  string
		pts   []point
		start int64
		end   int64
		// truncated: the ring buffer dropped older points of the series.
		truncated bool
		want      float64
		wantOK    bool
	}{
		{name: "one point is not a rate", pts: []point{{60_000, 5}}, start: 0, end: 60_000},
		{name: "steady counter covering the window", pts: []point{{15_000, 150}, {30_000, 300}, {45_000, 450}, {60_000, 600}},
			start: 0, end: 60_000, want: 10, wantOK: true},
		{name: "reset adds the value before it", pts: []point{{15_000, 150}, {30_000, 300}, {45_000, 50}, {60_000, 200}},
			start: 0, end: 60_000, want: 350.0 * 60 / 45 / 60, wantOK: true},
		// The counter would have been zero 10 s before its first point, so
		// extrapolation stops there rather than at the window start.
		{name: "extrapolation stops at zero", pts: []point{{30_000, 10}, {60_000, 40}},
			start: 0, end: 60_000, want: 30.0 * 40 / 30 / 60, wantOK: true},
		// Gaps longer than 1.1 average intervals extrapolate half an interval.
		{name: "series younger than the window", pts: []point{{40_000, 100}, {50_000, 110}, {60_000, 120}},
			start: 0, end: 60_000, want: 20.0 * 25 / 20 / 60, wantOK: true},
		// The same points, but the series is older than the buffer: the
		// increase is extrapolated over the whole window.
		{name: "buffer shorter than the window", pts: []point{{40_000, 1100}, {50_000, 1110}, {60_000, 1120}},
			start: 0, end: 60_000, truncated: true, want: 1, wantOK: true},
		{name: "buffer shorter than the window, still not past zero", pts: []point{{40_000, 10}, {50_000, 20}, {60_000, 30}},
			start: 0, end: 60_000, truncated: true, want: 30.0 / 60, wantOK: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := extrapolatedRate(tc.pts, tc.start, tc.end, tc.truncated)
			require.Equal(t, tc.wantOK, ok)
			require.InDelta(t, tc.want, got, 1e-12)
		})
	}
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		name    string
		q       float64
		buckets []bucket
		want    float64
	}{
		{"interpolates inside a bucket", 0.9, []bucket{{0.1, 50}, {0.5, 90}, {1, 100}, {inf, 100}}, 0.5},
		{"first bucket starts at zero", 0.25, []bucket{{0.1, 50}, {0.5, 90}, {inf, 100}}, 0.05},
		{"rank in +Inf bucket returns highest bound", 0.99, []bucket{{0.1, 50}, {0.5, 90}, {inf, 100}}, 0.5},
		{"unsorted and non-monotonic input", 0.5, []bucket{{inf, 100}, {0.5, 49}, {0.1, 50}}, 0.1},
		{"negative first bound", 0.1, []bucket{{-1, 10}, {0, 20}, {inf, 100}}, -1},
		{"no +Inf bucket", 0.5, []bucket{{0.1, 50}, {0.5, 90}}, math.NaN()},
		{"no observations", 0.5, []bucket{{0.1, 0}, {inf, 0}}, math.NaN()},
		{"q above 1", 1.5, []bucket{{0.1, 1}, {inf, 1}}, inf},
		{"q below 0", -0.5, []bucket{{0.1, 1}, {inf, 1}}, math.Inf(-1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := histogramQuantile(tc.q, tc.buckets)
			if math.IsNaN(tc.want) {
				require.True(t, math.IsNaN(got), "got %v", got)
				return
			}
			require.InDelta(t, tc.want, got, 1e-12)
		})
	}
}

func TestParseFormats(t *testing.T) {
	cases := []struct {
		name        string
		contentType string
		body        string
		family      string
		samples     int
	}{
		{"text", "text/plain; version=0.0.4", "# TYPE a_total counter\na_total{x=\"1\"} 3\n", "a_total", 1},
		{"openmetrics counter with exemplar, created, unit and EOF", "application/openmetrics-text; version=1.0.0",
			"# TYPE a counter\n# UNIT a seconds\n# HELP a Help.\na_total{x=\"}\"} 3 # {t=\"1\"} 1 1.5\na_created{x=\"}\"} 1\n# EOF\n", "a_total", 1},
		{"openmetrics histogram with timestamps", "application/openmetrics-text; version=1.0.0",
			"# TYPE h histogram\nh_bucket{le=\"1\"} 1 1700000000.5\nh_bucket{le=\"+Inf\"} 2 1700000000.5\nh_count 2\nh_sum 3\nh_created 1\n# EOF\n", "h", 4},
		{"openmetrics info becomes untyped", "application/openmetrics-text; version=1.0.0",
			"# TYPE b info\nb_info{v=\"1\"} 1\n# EOF\n", "b_info", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fams, err := parse([]byte(tc.body), tc.contentType)
			require.NoError(t, err)
			f := fams[tc.family]
			require.NotNil(t, f, "families: %v", fams)
			require.Len(t, flatten(f, nil), tc.samples)
		})
	}
	_, err := parse([]byte("not { an exposition"), "text/plain")
	require.ErrorContains(t, err, "parse exposition")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("# TYPE a counter\na_total{x=\"y # z\"} 1 # {t=\"1\"} 1\n# EOF\n"), true)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool) {
		ct := "text/plain; version=0.0.4"
		if openMetrics {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		fams, err := parse(body, ct)
		if err != nil {
			return
		}
		for _, fam := range fams {
			_ = flatten(fam, nil)
		}
	})
}
