package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
	"github.com/uid2-private-operator/uid2-operator/internal/envelope"
	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// Issue 10 "Done when": 64 concurrent ~1 MiB identity-map requests under a
// 1 GiB memory limit keep the peak RSS at or under 512 MiB with no 5xx,
// while small generate requests keep being served.
const (
	floodClients  = 64
	floodLimit    = "1GiB"
	floodMaxRSSKB = 512 << 10
	floodP99      = 100 * time.Millisecond
	// floodDurationEnv sets the flood's length (default 3s, to keep CI
	// short); with it set, the generate p99 is asserted too (a timing
	// figure, reliable only on a quiet machine).
	floodDurationEnv = "UID2_MEMORY_E2E_DURATION"
	// floodFlagsEnv adds operator flags (space-separated), for measuring,
	// e.g. "--admission-slots 64 --admission-budget 64GiB" for no admission.
	floodFlagsEnv = "UID2_MEMORY_E2E_FLAGS"
)

// TestMemoryUnderMapFlood runs the built binary with --memory-limit 1GiB
// (as a 1 GiB container limit would set it), floods /v3/identity/map with
// 64 clients sending ~1 MiB text envelopes back to back, and calls
// /v2/token/generate every 20 ms meanwhile. It checks the peak RSS
// (VmHWM), that no answer is a 5xx, that every map answer is 200 or 429
// with Retry-After, and reports the generate latency.
func TestMemoryUnderMapFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the operator binary and floods it")
	}
	duration := 3 * time.Second
	strict := false
	if v := os.Getenv(floodDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", floodDurationEnv, v, err)
		}
		duration, strict = d, true
	}
	bin := buildOperator(t)
	addr := freeAddr(t)
	var stderr lockedBuffer
	args := []string{"--http-addr", addr, "--metrics-addr", "", "--log-format", "text",
		"--print-credentials=false", "--memory-limit", floodLimit}
	cmd := exec.Command(bin, append(args, strings.Fields(os.Getenv(floodFlagsEnv))...)...)
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=") // the flag, not the environment, sizes memory
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("operator stderr:\n%s", stderr.String())
		}
	})
	base := "http://" + addr
	stderr.waitFor(t, listeningLine, nil)
	checkHealthy(t, base)
	creds, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	mapSecret, err := base64.StdEncoding.DecodeString(creds.Mapper.Secret)
	if err != nil {
		t.Fatal(err)
	}
	payload := mapPayload(786000) // the text envelope is just under the 1 MiB body limit

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		problems []string
	)
	note := func(code int, problem string) {
		mu.Lock()
		defer mu.Unlock()
		statuses[code]++
		if problem != "" && len(problems) < 10 {
			problems = append(problems, problem)
		}
	}
	var wg sync.WaitGroup
	for range floodClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for ctx.Err() == nil {
				code, problem := mapOnce(ctx, hc, base, creds.Mapper.APIKey, mapSecret, payload)
				if code == 0 && ctx.Err() != nil {
					return // cut off by the end of the run
				}
				note(code, problem)
			}
		}()
	}

	var latencies []time.Duration
	var genErrors atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		gen := &client.Client{BaseURL: base, APIKey: creds.Generator.APIKey, Secret: creds.Generator.Secret,
			HTTP: &http.Client{Timeout: 10 * time.Second}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			_, err := gen.Do(context.Background(), "/v2/token/generate", []byte(`{"email":"flood@example.com"}`))
			if err != nil {
				genErrors.Add(1)
				continue
			}
			latencies = append(latencies, time.Since(start))
		}
	}()
	wg.Wait()

	peakKB := procStatusKB(t, cmd.Process.Pid, "VmHWM")
	slices.Sort(latencies)
	p := func(q float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]
	}
	t.Logf("%s flood: map answers %v; peak RSS %d MiB; generate n=%d p50=%s p99=%s max=%s errors=%d",
		duration, statuses, peakKB>>10, len(latencies), p(0.50), p(0.99), p(1), genErrors.Load())
	for _, pr := range problems {
		t.Error(pr)
	}
	if statuses[http.StatusOK] == 0 {
		t.Error("no identity-map request succeeded")
	}
	if peakKB > floodMaxRSSKB {
		t.Errorf("peak RSS %d MiB > %d MiB", peakKB>>10, floodMaxRSSKB>>20)
	}
	if genErrors.Load() > 0 || len(latencies) == 0 {
		t.Errorf("generate during the flood: %d errors, %d successes", genErrors.Load(), len(latencies))
	}
	if strict && p(0.99) >= floodP99 {
		t.Errorf("generate p99 %s during the flood; want < %s", p(0.99), floodP99)
	}
}

// mapPayload returns a /v3/identity/map payload of about size bytes.
func mapPayload(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"email":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"user%07d@example.com"`, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// mapOnce sends one sealed text-mode map request and returns its status
// and, for an answer that breaks the rules, a description.
func mapOnce(ctx context.Context, hc *http.Client, base, key string, secret, payload []byte) (int, string) {
	var nonce [8]byte
	rand.Read(nonce[:])
	env, err := envelope.SealRequest(nil, secret, payload, time.Now(), nonce, rand.Reader)
	if err != nil {
		return -1, err.Error()
	}
	body := base64.StdEncoding.AppendEncode(nil, env)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v3/identity/map", bytes.NewReader(body))
	if err != nil {
		return -1, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ""
		}
		return -1, "map request: " + err.Error()
	}
	defer resp.Body.Close()
	// Discard the answer rather than decrypt it: the client shares the
	// CPUs with the operator. Its size shows it is the full answer.
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil && ctx.Err() != nil:
		return 0, ""
	case err != nil:
		return resp.StatusCode, "map response: " + err.Error()
	case resp.StatusCode == http.StatusOK && n < int64(len(payload)):
		return resp.StatusCode, fmt.Sprintf("200 with a %d-byte body for a %d-byte payload", n, len(payload))
	case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "":
		return resp.StatusCode, "429 without Retry-After"
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests:
		return resp.StatusCode, fmt.Sprintf("map answered %d", resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// procStatusKB reads a "kB" field of /proc/PID/status.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}
