// Package httpapi is trimtab's own HTTP API (/api/v1/...), served by gin on a
// port of its own, apart from metrics and probes.
package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Info is what GET /api/v1/version reports.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// New returns the API's router. Request metrics are labelled by route
// template, never by raw path, to keep their cardinality bounded.
func New(logger *slog.Logger, reg prometheus.Registerer, info Info) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "trimtab_http_request_duration_seconds",
		Help:    "Latency of trimtab API requests by method, route template and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})
	if err := reg.Register(duration); err != nil {
		return nil, err
	}
	r := gin.New()
	// No proxy is trusted, so ClientIP cannot be spoofed with X-Forwarded-For.
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		logger.Error("panic in API handler", "route", c.FullPath(), "panic", rec, "stack", string(debug.Stack()))
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	r.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		duration.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Observe(elapsed.Seconds())
		logger.LogAttrs(c.Request.Context(), slog.LevelDebug, "api request",
			slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", c.Writer.Status()), slog.Duration("latency", elapsed),
			slog.String("client_ip", c.ClientIP()))
	})
	v1 := r.Group("/api/v1")
	v1.GET("/version", func(c *gin.Context) { c.JSON(http.StatusOK, info) })
	return r, nil
}
