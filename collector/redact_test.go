package collector_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector"
)

func TestRedactURL(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{name: "a plain address is kept", in: "http://prometheus.monitoring:9090", want: "http://prometheus.monitoring:9090"},
		{name: "user and password are dropped", in: "https://alice:s3cret@prom.example.com/api", want: "https://prom.example.com/api"},
		{name: "a user alone is dropped", in: "https://token@prom.example.com", want: "https://prom.example.com"},
		{name: "the query is replaced", in: "http://h/metrics?apikey=s3cret&x=1", want: "http://h/metrics?<redacted>"},
		{name: "the fragment is dropped", in: "http://h/p#s3cret", want: "http://h/p"},
		{name: "an unparseable URL is not echoed", in: "http://a b:s3cret@h:x/", want: "<invalid URL>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, collector.RedactURL(tc.in))
		})
	}
}
