package aks_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/aks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// guideVars are the integration guide's example variables, with a made-up
// subscription.
func guideVars() aks.Vars {
	v := aks.Default()
	v.ResourceGroup = "my-vn-aks"
	v.Location = "eastus"
	v.VNetName = "my-vnet"
	v.PublicIPName = "my-public-ip"
	v.NATGatewayName = "my-nat-gateway"
	v.AKSClusterName = "myvncluster"
	v.KeyVaultName = "my-vn-aks-vault"
	v.KeyVaultSecretName = "my-vn-aks-opr-key-name"
	v.ManagedIdentity = "my-vn-aks-opr-id"
	v.SubscriptionID = "00000000-1111-2222-3333-444444444444"
	v.DeploymentEnv = "integ"
	return v
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change)\n--- got ---\n%s", path, got)
	}
}
