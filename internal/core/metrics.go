package core

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sync metrics (core-and-optout.md §5.3 names where they
// exist). The zero value (nil *Metrics) records nothing.
type Metrics struct {
	attestExpiry     prometheus.Gauge
	storeVersion     *prometheus.GaugeVec
	storeLastSuccess *prometheus.GaugeVec
	storeRefreshed   *prometheus.CounterVec
	storeFailures    *prometheus.CounterVec
	storeConsecutive *prometheus.GaugeVec
	optoutEntries    prometheus.Gauge
	optoutLastSync   prometheus.Gauge
	optoutFailures   prometheus.Counter
	optoutBadNames   prometheus.Counter
	optoutFiles      prometheus.Gauge
	optoutVersion    prometheus.Gauge
}

// NewMetrics registers the sync metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attestExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uid2_attestation_expiry_timestamp_seconds", Help: "Expiry of the current attestation token (epoch seconds).",
		}),
		storeVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "uid2_config_store_version", Help: "Metadata version of the loaded store.",
		}, []string{"store"}),
		storeLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "uid2_config_store_last_success_timestamp_seconds", Help: "Last successful refresh of the store (epoch seconds).",
		}, []string{"store"}),
		storeRefreshed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uid2_config_store_refreshed_total", Help: "Successful store refreshes.",
		}, []string{"store"}),
		storeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uid2_config_store_refresh_failures_total", Help: "Failed store refreshes.",
		}, []string{"store"}),
		storeConsecutive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "uid2_config_store_consecutive_refresh_failures", Help: "Failed store refreshes since the last success.",
		}, []string{"store"}),
		optoutEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uid2_optout_entries", Help: "Opted-out first-level hashes in the synced index.",
		}),
		optoutLastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uid2_optout_last_sync_timestamp_seconds", Help: "Last successful opt-out sync (epoch seconds).",
		}),
		optoutBadNames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uid2_optout_bad_file_names_total", Help: "Opt-out files skipped because their names do not parse.",
		}),
		optoutFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uid2_optout_sync_failures_total", Help: "Failed opt-out syncs.",
		}),
		optoutFiles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uid2_optout_files", Help: "Opt-out delta and partition files in the local cache.",
		}),
		optoutVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uid2_optout_data_timestamp_seconds",
			Help: "Version of the last synced opt-out listing: the time of Opt-Out's newest file (epoch seconds); time() minus this is the opt-out lag.",
		}),
	}
	reg.MustRegister(m.attestExpiry, m.storeVersion, m.storeLastSuccess, m.storeRefreshed, m.storeFailures,
		m.storeConsecutive, m.optoutEntries, m.optoutLastSync, m.optoutFailures, m.optoutFiles, m.optoutVersion, m.optoutBadNames)
	return m
}

// Attested records an attestation token's expiry (epoch seconds).
func (m *Metrics) Attested(expiresAt int64) {
	if m != nil {
		m.attestExpiry.Set(float64(expiresAt))
	}
}

func (m *Metrics) storeOK(store string, version int64, at float64) {
	if m == nil {
		return
	}
	m.storeVersion.WithLabelValues(store).Set(float64(version))
	m.storeLastSuccess.WithLabelValues(store).Set(at)
	m.storeRefreshed.WithLabelValues(store).Inc()
	m.storeConsecutive.WithLabelValues(store).Set(0)
}

func (m *Metrics) storeFailed(store string) {
	if m == nil {
		return
	}
	m.storeFailures.WithLabelValues(store).Inc()
	m.storeConsecutive.WithLabelValues(store).Inc()
}

func (m *Metrics) optoutOK(entries, files int, version int64, at float64) {
	if m == nil {
		return
	}
	m.optoutVersion.Set(float64(version))
	m.optoutEntries.Set(float64(entries))
	m.optoutFiles.Set(float64(files))
	m.optoutLastSync.Set(at)
}

func (m *Metrics) optoutFailed() {
	if m != nil {
		m.optoutFailures.Inc()
	}
}

func (m *Metrics) optoutBadName() {
	if m != nil {
		m.optoutBadNames.Inc()
	}
}
