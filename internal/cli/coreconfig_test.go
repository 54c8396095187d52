package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/attest"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
	"github.com/uid2-private-operator/uid2-operator/internal/core"
)

// TestCoreConfigOptoutKeys checks that the reference's opt-out keys of a
// config file reach the opt-out file selection.
func TestCoreConfigOptoutKeys(t *testing.T) {
	cfg := config.Default()
	if _, err := cfg.Parse(strings.NewReader(`{"optout_delta_rotate_interval":60,"optout_delta_backtrack_in_days":2,
		"optout_partition_interval":3600,"optout_max_partitions":7,"optout_synthetic_logs_enabled":true,
		"optout_synthetic_logs_count":5,"optout_s3_path_compat":true,"optout_s3_folder":"optout-v2/"}`)); err != nil {
		t.Fatal(err)
	}
	cc := coreConfig(cfg, attest.Trusted{}, nil)
	want := core.OptOutSelection{
		DeltaRotateInterval: time.Minute, DeltaBacktrackDays: 2, PartitionInterval: time.Hour, MaxPartitions: 7,
		SyntheticLogsEnabled: true, SyntheticLogsCount: 5, PathCompat: true,
	}
	if cc.OptoutSelection != want || cc.OptoutFolder != "optout-v2/" {
		t.Fatalf("selection = %+v folder %q; want %+v", cc.OptoutSelection, cc.OptoutFolder, want)
	}
}
