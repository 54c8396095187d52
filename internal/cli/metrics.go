package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// newRegistry returns the process's Prometheus registry with the Go runtime,
// process and build-info collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	// app_status{version} is the reference operator's version gauge.
	status := metrics.AppStatus.NewGaugeVec()
	status.WithLabelValues(version).Set(1)
	reg.MustRegister(status)
	return reg
}

// httpServerComponent is the reference's health component of the API server.
const httpServerComponent = "http-server"

// metricsHandler serves GET /metrics from reg.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
