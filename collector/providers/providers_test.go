package providers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/providers"
)

func TestNewErrorsOnUnknownKinds(t *testing.T) {
	cases := []struct {
		name    string
		kind    collector.Kind
		cfg     providers.Config
		message string
	}{
		{"unknown kind", "datadog", providers.Config{}, `unknown metric source kind "datadog"`},
		{"empty kind", "", providers.Config{}, `unknown metric source kind ""`},
		{"scrape without a client", collector.KindScrape, providers.Config{}, "needs a reader of pods"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := providers.New(tc.kind, tc.cfg)
			require.ErrorContains(t, err, tc.message)
		})
	}
	for _, k := range []collector.Kind{collector.KindPrometheus, collector.KindCloudWatch, collector.KindWeb} {
		p, err := providers.New(k, providers.Config{})
		require.NoError(t, err, k)
		require.NotNil(t, p, k)
	}
}
