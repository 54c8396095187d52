package metrics

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uid2-private-operator/uid2-operator/internal/salts"
	"github.com/uid2-private-operator/uid2-operator/internal/store"
)

// SnapshotCollector computes the reference's salt and key gauges
// (OperatorMetrics) from the current store snapshot at scrape time:
// uid2_second_level_salt_last_updated_max/_min and _current_effective (epoch
// ms) and uid2_encryption_key_activates{site_id} (epoch seconds of each
// site's active key), and uid2_config_store_entry_count{store} of every
// loaded part. It is safe for concurrent use.
type SnapshotCollector struct {
	Load func() *store.Snapshot
	Now  func() time.Time // time.Now when nil

	maxDesc, minDesc, effective, activates, entries *prometheus.Desc

	mu     sync.Mutex
	table  *salts.Table // the table lo and hi were computed for
	lo, hi int64
}

// NewSnapshotCollector returns a collector over load.
func NewSnapshotCollector(load func() *store.Snapshot) *SnapshotCollector {
	return &SnapshotCollector{Load: load,
		maxDesc: SaltLastUpdatedMax.Desc(), minDesc: SaltLastUpdatedMin.Desc(),
		effective: SaltCurrentEffective.Desc(), activates: EncryptionKeyActivates.Desc(),
		entries: StoreEntryCount.Desc()}
}

// Describe implements prometheus.Collector.
func (c *SnapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.maxDesc
	ch <- c.minDesc
	ch <- c.effective
	ch <- c.activates
	ch <- c.entries
}

// Collect implements prometheus.Collector.
func (c *SnapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.Load()
	if snap == nil {
		return
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if snap.Salts != nil {
		cur := snap.Salts.At(now.UnixMilli())
		ch <- prometheus.MustNewConstMetric(c.effective, prometheus.GaugeValue, float64(cur.Effective))
		if lo, hi, ok := c.lastUpdated(cur.Table); ok {
			ch <- prometheus.MustNewConstMetric(c.maxDesc, prometheus.GaugeValue, float64(hi))
			ch <- prometheus.MustNewConstMetric(c.minDesc, prometheus.GaugeValue, float64(lo))
		}
	}
	c.entryCounts(ch, snap)
	if ring := snap.Keyring; ring != nil && ring.Keysets() != nil {
		seen := map[int32]bool{}
		for _, ks := range ring.Keysets().All() {
			if seen[ks.SiteID] {
				continue
			}
			seen[ks.SiteID] = true
			def, err := ring.DefaultKeyset(ks.SiteID)
			if err != nil || def == nil {
				continue
			}
			k, err := ring.ActiveKey(def.ID, now.Unix())
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.activates, prometheus.GaugeValue, float64(k.Activates),
				strconv.Itoa(int(ks.SiteID)))
		}
	}
}

// lastUpdated returns the oldest and newest bucket update of t, computed once
// per table (1,048,576 buckets).
func (c *SnapshotCollector) lastUpdated(t *salts.Table) (lo, hi int64, ok bool) {
	if t == nil || t.Len() == 0 {
		return 0, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.table != t {
		lo, hi = math.MaxInt64, math.MinInt64
		for i := range t.Len() {
			u := t.LastUpdated(i)
			lo, hi = min(lo, u), max(hi, u)
		}
		c.table, c.lo, c.hi = t, lo, hi
	}
	return c.lo, c.hi, true
}

// entryCounts reports the entries of each loaded part (the reference's
// RotatingStoreVerticle entry count; salts count buckets of the current set).
func (c *SnapshotCollector) entryCounts(ch chan<- prometheus.Metric, snap *store.Snapshot) {
	emit := func(p store.Part, n int) {
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(n), string(p))
	}
	snap.EntryCounts(emit)
}
