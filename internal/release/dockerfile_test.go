package release_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/ociimage"
	"github.com/uid2-private-operator/uid2-operator/internal/release"
)

// TestDockerfileMatchesImage keeps the Dockerfile, kept for Docker users, in
// step with the image uid2-release builds: same files, user, ports and
// entrypoint, and base images that are fully qualified and digest-pinned.
func TestDockerfileMatchesImage(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	shellQuoted := func(s string) string { return "printf '" + strings.ReplaceAll(s, "\n", `\n`) + "'" }
	for _, want := range []string{
		shellQuoted(ociimage.Passwd) + " > /rootfs/etc/passwd",
		shellQuoted(ociimage.Group) + " > /rootfs/etc/group",
		"cp internal/ociimage/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt",
		"chmod 1777 /rootfs/tmp",
		"./scripts/build.sh /rootfs/app" + strings.TrimPrefix(ociimage.BinaryPath, "/app"),
		"COPY --from=build /rootfs/ /\n",
		"USER " + ociimage.User + "\n",
		"WORKDIR " + ociimage.WorkingDir + "\n",
		"EXPOSE 8080 9080\n",
		`ENTRYPOINT ["` + ociimage.BinaryPath + `"]`,
		"ENV PATH=" + ociimage.Path + "\n",
		"ENV IMAGE_VERSION=${IMAGE_VERSION}\n",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if got := strings.Join(ociimage.ExposedPorts, " "); got != "8080/tcp 9080/tcp" {
		t.Errorf("image ports %s; the Dockerfile exposes 8080 9080", got)
	}

	// Every base image: scratch, or registry/repository:tag@sha256:<64 hex>.
	pinned := regexp.MustCompile(`^[a-z0-9.-]+\.[a-z]+/[a-z0-9._/-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`)
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG ([A-Z_]+)=(\S+)$`).FindAllStringSubmatch(df, -1) {
		args[m[1]] = m[2]
	}
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	for _, m := range froms {
		img := m[1]
		if strings.HasPrefix(img, "${") {
			img = args[strings.Trim(img, "${}")]
		}
		if img != "scratch" && !pinned.MatchString(img) {
			t.Errorf("FROM %s (= %q): want a fully qualified, digest-pinned image", m[1], img)
		}
	}
	// The builder image carries the toolchain go.mod pins (else the build
	// would download it, or a bump of one would be forgotten in the other).
	toolchain, err := release.Toolchain("../..")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/golang:" + strings.TrimPrefix(toolchain, "go") + "-"; !strings.Contains(args["GO_IMAGE"], want) {
		t.Errorf("GO_IMAGE %q: want the go.mod toolchain %s (%q)", args["GO_IMAGE"], toolchain, want)
	}
	if regexp.MustCompile(`(?m)^# syntax=`).MatchString(df) {
		t.Error("Dockerfile names a frontend image (# syntax=); that is one more unpinned pull")
	}
}
