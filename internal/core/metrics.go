package core

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// optoutStore is the store label of the opt-out cloud sync, as the
// reference's CloudSyncVerticle names it.
const optoutStore = "optout"

// Metrics are the sync metrics: the reference's store (RotatingStoreVerticle),
// cloud sync (CloudSyncVerticle), opt-out index and component-health
// families, plus ours for staleness and attestation (internal/metrics). The
// zero value (nil *Metrics) records nothing.
type Metrics struct {
	attestExpiry, optoutEntries, optoutLastSync, optoutFiles, optoutVersion prometheus.Gauge
	attestFailures, optoutBadNames, deltasIndexed, partitionsIndexed        prometheus.Counter
	indexUpdated                                                            prometheus.Counter

	storeRefreshed, storeFailures, storeTimeMs                   *prometheus.CounterVec
	storeVersion, storeLastSuccess, storeFailing, health         *prometheus.GaugeVec
	storeLoad                                                    *prometheus.SummaryVec
	cloudRefreshed, cloudFailures, cloudDownloaded, cloudDLFails *prometheus.CounterVec
	cloudFailing, cloudDownloading                               *prometheus.GaugeVec
	cloudDuration                                                *prometheus.SummaryVec
}

// NewMetrics registers the sync metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	gauge := func(f metrics.Family) prometheus.Gauge { return f.NewGaugeVec().WithLabelValues() }
	counter := func(f metrics.Family) prometheus.Counter { return f.NewCounterVec().WithLabelValues() }
	m := &Metrics{
		storeRefreshed:   metrics.StoreRefreshed.NewCounterVec(),
		storeFailures:    metrics.StoreRefreshFailures.NewCounterVec(),
		storeTimeMs:      metrics.StoreRefreshTimeMs.NewCounterVec(),
		storeVersion:     metrics.StoreVersion.NewGaugeVec(),
		storeLastSuccess: metrics.StoreLastSuccess.NewGaugeVec(),
		storeFailing:     metrics.StoreConsecutiveFailures.NewGaugeVec(),
		storeLoad:        metrics.StoreRefreshDuration.NewSummaryVec(nil),
		health:           metrics.ComponentHealth.NewGaugeVec(),
		cloudRefreshed:   metrics.CloudRefreshed.NewCounterVec(),
		cloudFailures:    metrics.CloudRefreshFailures.NewCounterVec(),
		cloudDownloaded:  metrics.CloudDownloaded.NewCounterVec(),
		cloudDLFails:     metrics.CloudDownloadFailures.NewCounterVec(),
		cloudFailing:     metrics.CloudConsecutiveFailures.NewGaugeVec(),
		cloudDownloading: metrics.CloudDownloading.NewGaugeVec(),
		cloudDuration:    metrics.CloudDownloadDuration.NewSummaryVec(nil),
	}
	// Unlabelled families are one-child vectors, so every family is built
	// the same way from internal/metrics.
	vecs := []prometheus.Collector{m.storeRefreshed, m.storeFailures, m.storeTimeMs, m.storeVersion,
		m.storeLastSuccess, m.storeFailing, m.storeLoad, m.health, m.cloudRefreshed, m.cloudFailures,
		m.cloudDownloaded, m.cloudDLFails, m.cloudFailing, m.cloudDownloading, m.cloudDuration}
	for _, f := range []struct {
		fam metrics.Family
		g   *prometheus.Gauge
		c   *prometheus.Counter
	}{
		{fam: metrics.AttestationExpiry, g: &m.attestExpiry},
		{fam: metrics.OptoutEntriesIndexed, g: &m.optoutEntries},
		{fam: metrics.OptoutLastSync, g: &m.optoutLastSync},
		{fam: metrics.OptoutFiles, g: &m.optoutFiles},
		{fam: metrics.OptoutDataTimestamp, g: &m.optoutVersion},
		{fam: metrics.AttestationFailures, c: &m.attestFailures},
		{fam: metrics.OptoutBadFileNames, c: &m.optoutBadNames},
		{fam: metrics.OptoutDeltasIndexed, c: &m.deltasIndexed},
		{fam: metrics.OptoutPartitionsIndexed, c: &m.partitionsIndexed},
		{fam: metrics.OptoutIndexUpdated, c: &m.indexUpdated},
	} {
		if f.g != nil {
			*f.g = gauge(f.fam)
			vecs = append(vecs, *f.g)
		} else {
			*f.c = counter(f.fam)
			vecs = append(vecs, *f.c)
		}
	}
	reg.MustRegister(vecs...)
	// The opt-out sync's series exist from the start, so alerts on rates and
	// flags see zeros rather than nothing.
	for _, v := range []*prometheus.CounterVec{m.cloudRefreshed, m.cloudFailures, m.cloudDownloaded, m.cloudDLFails} {
		v.WithLabelValues(optoutStore)
	}
	m.cloudDuration.WithLabelValues(optoutStore, "success")
	m.cloudDuration.WithLabelValues(optoutStore, "failure")
	m.cloudFailing.WithLabelValues(optoutStore).Set(0)
	m.cloudDownloading.WithLabelValues(optoutStore).Set(0)
	m.health.WithLabelValues("cloudsync-" + optoutStore).Set(0)
	return m
}

// StartStore makes a store's series exist before its first refresh: it is
// unhealthy ("<store>-rotator" 0) until then.
func (m *Metrics) StartStore(store string) {
	if m == nil {
		return
	}
	m.storeRefreshed.WithLabelValues(store)
	m.storeFailures.WithLabelValues(store)
	m.storeFailing.WithLabelValues(store).Set(0)
	m.health.WithLabelValues(store + "-rotator").Set(0)
}

// SetHealthy sets uid2_component_health{component} (1 healthy, 0 not).
func (m *Metrics) SetHealthy(component string, ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.health.WithLabelValues(component).Set(v)
}

// Attested records an attestation token's expiry (epoch seconds).
func (m *Metrics) Attested(expiresAt int64) {
	if m != nil {
		m.attestExpiry.Set(float64(expiresAt))
	}
}

// AttestFailed counts a failed attestation attempt.
func (m *Metrics) AttestFailed() {
	if m != nil {
		m.attestFailures.Inc()
	}
}

func (m *Metrics) storeOK(store string, version int64, at float64, took time.Duration) {
	if m == nil {
		return
	}
	m.storeVersion.WithLabelValues(store).Set(float64(version))
	m.storeLastSuccess.WithLabelValues(store).Set(at)
	m.storeRefreshed.WithLabelValues(store).Inc()
	m.storeTimeMs.WithLabelValues(store).Add(float64(took.Milliseconds()))
	m.storeFailing.WithLabelValues(store).Set(0)
	m.health.WithLabelValues(store + "-rotator").Set(1)
}

func (m *Metrics) storeFailed(store string, took time.Duration) {
	if m == nil {
		return
	}
	m.storeFailures.WithLabelValues(store).Inc()
	m.storeTimeMs.WithLabelValues(store).Add(float64(took.Milliseconds()))
	m.storeFailing.WithLabelValues(store).Set(1)
}

// storeLoaded records the duration of a store's initial load.
func (m *Metrics) storeLoaded(store string, took time.Duration) {
	if m != nil {
		m.storeLoad.WithLabelValues(store).Observe(took.Seconds())
	}
}

func (m *Metrics) optoutOK(entries, files int, version int64, at float64) {
	if m == nil {
		return
	}
	m.optoutVersion.Set(float64(version))
	m.optoutEntries.Set(float64(entries))
	m.optoutFiles.Set(float64(files))
	m.optoutLastSync.Set(at)
	m.cloudRefreshed.WithLabelValues(optoutStore).Inc()
	m.cloudDuration.WithLabelValues(optoutStore, "success")
	m.cloudDuration.WithLabelValues(optoutStore, "failure")
	m.cloudFailing.WithLabelValues(optoutStore).Set(0)
	m.health.WithLabelValues("cloudsync-" + optoutStore).Set(1)
}

func (m *Metrics) optoutFailed() {
	if m != nil {
		m.cloudFailures.WithLabelValues(optoutStore).Inc()
		m.cloudFailing.WithLabelValues(optoutStore).Set(1)
	}
}

// optoutDownload records one opt-out file download.
func (m *Metrics) optoutDownload(ok bool, took time.Duration) {
	if m == nil {
		return
	}
	status := "success"
	if ok {
		m.cloudDownloaded.WithLabelValues(optoutStore).Inc()
	} else {
		status = "failure"
		m.cloudDLFails.WithLabelValues(optoutStore).Inc()
	}
	m.cloudDuration.WithLabelValues(optoutStore, status).Observe(took.Seconds())
}

// optoutIndexed records an index rebuild from deltas and partitions.
func (m *Metrics) optoutIndexed(deltas, partitions int) {
	if m == nil {
		return
	}
	m.indexUpdated.Inc()
	m.deltasIndexed.Add(float64(deltas))
	m.partitionsIndexed.Add(float64(partitions))
}

func (m *Metrics) optoutBadName() {
	if m != nil {
		m.optoutBadNames.Inc()
	}
}
