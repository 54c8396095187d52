//go:build unix

package cli

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Issue 9 item 5: `aks render -o` / `aks plan -o` renamed a temporary file
// over the target, so `-o /dev/null` as root replaced /dev/null with a
// regular file. A FIFO stands in for the device: it must stay a FIFO and
// its reader must get the output.
func TestAKSOutputThroughFIFO(t *testing.T) {
	guideEnv(t)
	for _, sub := range []string{"plan", "render"} {
		t.Run(sub, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "out.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			got := make(chan string, 1)
			go func() {
				// Opening for read blocks until the writer opens; the
				// command must open the FIFO itself, not rename over it.
				f, err := os.Open(fifo)
				if err != nil {
					got <- "open: " + err.Error()
					return
				}
				defer f.Close()
				b, _ := io.ReadAll(f)
				got <- string(b)
			}()
			// Both take the policy file (plan's step 0 reads its enclave id).
			args := append([]string{sub, "-o", fifo}, renderInputs(t)...)
			code, _, errOut := runAKS(t, args...)
			if code != ExitOK {
				// Unblock the reader so the goroutine ends.
				if w, err := os.OpenFile(fifo, os.O_WRONLY|os.O_APPEND, 0); err == nil {
					w.Close()
				}
				t.Fatalf("aks %s -o FIFO = %d: %s", sub, code, errOut)
			}
			// Check the path before waiting for the reader: had the FIFO
			// been replaced, the reader would block on it forever.
			if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
				t.Fatalf("after aks %s -o FIFO the path is %v (err %v); want a named pipe", sub, fi.Mode().Type(), err)
			}
			out := <-got
			if want := map[string]string{"plan": "#!/usr/bin/env bash", "render": "apiVersion:"}[sub]; !strings.Contains(out, want) {
				t.Errorf("FIFO reader got %.80q; want output containing %q", out, want)
			}
		})
	}
}

// A symlink target keeps the link: the file it points to gets the output.
func TestAKSOutputThroughSymlink(t *testing.T) {
	guideEnv(t)
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(real, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runAKS(t, append([]string{"render", "-o", link}, renderInputs(t)...)...)
	if code != ExitOK {
		t.Fatalf("aks render -o symlink = %d: %s", code, errOut)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != os.ModeSymlink {
		t.Fatalf("link replaced: mode %v, err %v", fi.Mode().Type(), err)
	}
	b, err := os.ReadFile(real)
	if err != nil || !strings.HasPrefix(string(b), "apiVersion:") && !strings.Contains(string(b), "\napiVersion:") {
		t.Fatalf("link target = %.80q, %v; want the manifest", b, err)
	}
	// A dangling link is refused rather than replaced.
	dangling := filepath.Join(dir, "dangling.yaml")
	if err := os.Symlink("missing/x.yaml", dangling); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runAKS(t, append([]string{"render", "-o", dangling}, renderInputs(t)...)...)
	if code != ExitError || !strings.Contains(errOut, dangling) {
		t.Fatalf("aks render -o dangling symlink = %d: %s; want an error naming the path", code, errOut)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode().Type() != os.ModeSymlink {
		t.Fatalf("dangling link replaced: mode %v, err %v", fi.Mode().Type(), err)
	}
}

// renderInputs are the flags that let render fill the built-in manifest.
func renderInputs(t *testing.T) []string {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "policy.rego")
	if err := os.WriteFile(pf, []byte("package policy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--image", "ghcr.io/example/uid2-operator:1.0.0", "--cce-policy-file", pf}
}

// Run as root, the old rename replaced /dev/null itself. Only root can
// rename over /dev/null, so only root can see the bug.
func TestAKSOutputDevNullAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root could replace /dev/null")
	}
	guideEnv(t)
	for _, args := range [][]string{append([]string{"plan", "-o", os.DevNull}, renderInputs(t)...), append([]string{"render", "-o", os.DevNull}, renderInputs(t)...)} {
		if code, _, errOut := runAKS(t, args...); code != ExitOK {
			t.Fatalf("aks %v = %d: %s", args, code, errOut)
		}
		fi, err := os.Lstat(os.DevNull)
		if err != nil || fi.Mode().Type() != os.ModeDevice|os.ModeCharDevice {
			t.Fatalf("after aks %v, %s has mode %v (err %v); want a character device", args, os.DevNull, fi.Mode(), err)
		}
	}
}

func TestAKSOutputDirectoryRefused(t *testing.T) {
	guideEnv(t)
	dir := t.TempDir()
	code, _, errOut := runAKS(t, append([]string{"plan", "-o", dir}, renderInputs(t)...)...)
	if code != ExitError || !strings.Contains(errOut, "is a directory") {
		t.Fatalf("aks plan -o DIR = %d: %s; want an error saying it is a directory", code, errOut)
	}
}

// -o /dev/stdout or -o >(…) name a /proc magic link to a pipe, which
// filepath.EvalSymlinks cannot resolve ("pipe:[123]"); it must be written
// through, not refused as a dangling link.
func TestAKSOutputThroughProcFDPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	path := filepath.Join("/proc/self/fd", strconv.Itoa(int(w.Fd())))
	if _, err := os.Lstat(path); err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	guideEnv(t)
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- string(b)
	}()
	code, _, errOut := runAKS(t, append([]string{"plan", "-o", path}, renderInputs(t)...)...)
	w.Close()
	out := <-got
	if code != ExitOK || !strings.HasPrefix(out, "#!/usr/bin/env bash") {
		t.Fatalf("aks plan -o %s = %d: %s; pipe got %.60q", path, code, errOut, out)
	}
}

// An endless input file (-f /dev/zero) is refused at a bound, naming the
// file, instead of being read until memory runs out.
func TestAKSInputFileBounded(t *testing.T) {
	guideEnv(t)
	for _, args := range [][]string{
		{"render", "-f", "/dev/zero"},
		{"render", "--cce-policy-file", "/dev/zero"},
	} {
		code, _, errOut := runAKS(t, args...)
		if code != ExitError || !strings.Contains(errOut, "/dev/zero: larger than") {
			t.Errorf("aks %v = %d; want an error naming /dev/zero and the bound\n%s", args, code, errOut)
		}
	}
}
