package prometheus

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanBatch(t *testing.T) {
	cases := []struct {
		name     string
		rendered []string
		want     string // empty: not batchable
		series   map[string]string
		answers  []int
	}{
		{
			name: "equality matchers become a grouped alternation",
			rendered: []string{
				`sum(rate(errors_total{namespace="a",job="web"}[1m])) / sum(rate(requests_total{namespace="a",job="web"}[1m]))`,
				`sum(rate(errors_total{namespace="b.c",job="web"}[1m])) / sum(rate(requests_total{namespace="b.c",job="web"}[1m]))`,
			},
			want:    `sum by (namespace) (rate(errors_total{job="web",namespace=~"a|b\\.c"}[1m])) / sum by (namespace) (rate(requests_total{job="web",namespace=~"a|b\\.c"}[1m]))`,
			series:  map[string]string{"namespace": "b.c"},
			answers: []int{1},
		},
		{
			name: "existing grouping and on() are extended",
			rendered: []string{
				`histogram_quantile(0.9, sum by (le) (rate(h_bucket{version="v1"}[1m])))`,
				`histogram_quantile(0.9, sum by (le) (rate(h_bucket{version="v2"}[1m])))`,
			},
			want:    `histogram_quantile(0.9, sum by (le, version) (rate(h_bucket{version=~"v1|v2"}[1m])))`,
			series:  map[string]string{"version": "v1"},
			answers: []int{0},
		},
		{
			name: "regex matchers are tagged and joined with or",
			rendered: []string{
				`sum(rate(x{pod=~"a-.*"}[1m]))`,
				`sum(rate(x{pod=~"b-.*"}[1m]))`,
			},
			want:    `label_replace(sum(rate(x{pod=~"a-.*"}[1m])), "trimtab_batch_target", "0", "", "") or label_replace(sum(rate(x{pod=~"b-.*"}[1m])), "trimtab_batch_target", "1", "", "")`,
			series:  map[string]string{"trimtab_batch_target": "1"},
			answers: []int{1},
		},
		{
			name: "a selector without the grouping label falls back to tagging",
			rendered: []string{
				`sum(rate(x{namespace="a"}[1m])) / sum(rate(y[1m]))`,
				`sum(rate(x{namespace="b"}[1m])) / sum(rate(y[1m]))`,
			},
			want:    `label_replace(sum(rate(x{namespace="a"}[1m])) / sum(rate(y[1m])), "trimtab_batch_target", "0", "", "") or label_replace(sum(rate(x{namespace="b"}[1m])) / sum(rate(y[1m])), "trimtab_batch_target", "1", "", "")`,
			series:  map[string]string{"trimtab_batch_target": "0"},
			answers: []int{0},
		},
		{
			name:     "scalars cannot be batched",
			rendered: []string{`scalar(sum(x{namespace="a"}))`, `scalar(sum(x{namespace="b"}))`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := planBatch(tc.rendered)
			if tc.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tc.want, b.query)
			require.Equal(t, tc.answers, b.split(tc.series))
		})
	}
}
