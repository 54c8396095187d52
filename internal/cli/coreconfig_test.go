package cli

import (
	"log/slog"
	"os"
	"path/filepath"
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

// TestCoreConfigFileCSTGDefault is issue 10's `serve --config FILE` in Core
// mode without client_side_token_generate: it used to refuse to start ("must
// be false … got true") although the README says the key defaults to false
// in Core mode. An explicit true is still refused.
func TestCoreConfigFileCSTGDefault(t *testing.T) {
	const core = `"core_attest_url":"https://core.example/attest","core_api_token":"operator-key",
		"optout_metadata_path":"https://optout.example/optout/refresh",
		"clients_metadata_path":"https://core.example/clients/refresh",
		"keysets_metadata_path":"https://core.example/key/keyset/refresh",
		"keyset_keys_metadata_path":"https://core.example/key/keyset-keys/refresh",
		"salts_metadata_path":"https://core.example/salt/refresh",
		"runtime_config_metadata_path":"https://core.example/operator/config"`
	noEnv := func(string) (string, bool) { return "", false }
	log := slog.New(slog.DiscardHandler)
	write := func(body string) serveFlags {
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return serveFlags{configFile: p, httpAddr: "127.0.0.1:0", shutdownWait: time.Second,
			readTimeout: 10 * time.Second, writeTimeout: 10 * time.Second, idleTimeout: time.Minute,
			startupWait: time.Second, memory: memoryFlags{wait: time.Second}}
	}
	cfg, err := loadConfig(write(`{`+core+`}`), noEnv, log)
	if err != nil {
		t.Fatalf("Core config file without client_side_token_generate: %v; want it to start", err)
	}
	if !cfg.CoreMode() || cfg.ClientSideTokenGenerate {
		t.Fatalf("CoreMode %v, CSTG %v; want Core mode with CSTG off", cfg.CoreMode(), cfg.ClientSideTokenGenerate)
	}
	_, err = loadConfig(write(`{`+core+`,"client_side_token_generate":true}`), noEnv, log)
	if err == nil || !strings.Contains(err.Error(), "client_side_token_generate") {
		t.Fatalf("explicit client_side_token_generate=true in Core mode = %v; want the must-be-false error", err)
	}
}
