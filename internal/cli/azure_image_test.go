package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks the image facts the AKS deployment relies on; there
// is no Docker engine in CI, so they are checked by reading.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 || froms[len(froms)-1][1] != "scratch" {
		t.Errorf("stages = %v; want a multi-stage build ending FROM scratch (no shell, no package manager)", froms)
	}
	for _, want := range []string{
		"./scripts/build.sh",                 // same flags as CI and a local build
		"ARG IMAGE_VERSION",                  // version build arg
		"USER 1000:1000",                     // operator.yaml runAsUser: 1000
		"EXPOSE 8080 9080",                   // API and metrics
		`ENTRYPOINT ["/app/uid2-operator"]`,  // exec form: PID 1 gets SIGTERM
		"org.opencontainers.image.version",   // OCI labels
		"/etc/ssl/certs/ca-certificates.crt", // TLS to Core and Key Vault
		"ENV IMAGE_VERSION=${IMAGE_VERSION}", // read at start-up for the instance id
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The build context must keep every directory holding Go code: some
	// packages embed files (deploy/aks embeds operator.yaml).
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		pat := strings.Trim(strings.TrimSpace(line), "/")
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		goFiles, _ := filepath.Glob(filepath.Join("../..", pat, "*", "*.go"))
		direct, _ := filepath.Glob(filepath.Join("../..", pat, "*.go"))
		if len(goFiles)+len(direct) > 0 {
			t.Errorf(".dockerignore excludes %q, which holds Go code", pat)
		}
	}
	sh, err := os.ReadFile("../../scripts/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	// The flags themselves live in internal/release.BuildArgs (tested there).
	for _, want := range []string{"go run ./cmd/uid2-release binary"} {
		if !strings.Contains(string(sh), want) {
			t.Errorf("scripts/build.sh lacks %q", want)
		}
	}
}
