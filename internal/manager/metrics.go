package manager

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/trimtab/trimtab/scaler"
)

// metricsHandler serves /metrics in the Prometheus text format: what g
// gathers, then the per-ScalingPolicy series streamed by policies, which
// are not in a registry because gathering 10,000 policies' series through
// one would build ~100,000 metric objects at every scrape (see
// scaler.Recorder). As promhttp, it gzips for scrapers that accept it and
// serves only the families named by name[] parameters when there are any.
func metricsHandler(g prometheus.Gatherer, policies *scaler.Recorder, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		families, err := g.Gather()
		if err != nil {
			http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		var include func(string) bool
		if names := r.URL.Query()["name[]"]; len(names) > 0 {
			include = func(name string) bool {
				for _, n := range names {
					if n == name {
						return true
					}
				}
				return false
			}
		}
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		var out io.Writer = w
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer func() { _ = gz.Close() }()
			out = gz
		}
		for _, f := range families {
			if include != nil && !include(f.GetName()) {
				continue
			}
			if _, err := expfmt.MetricFamilyToText(out, f); err != nil {
				log.Debug("write /metrics", "error", err) // the scraper went away
				return
			}
		}
		if err := policies.WriteText(out, include); err != nil {
			log.Debug("write /metrics", "error", err)
		}
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "q" {
				q, err := strconv.ParseFloat(v, 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}
