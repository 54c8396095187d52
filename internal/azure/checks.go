package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/egress"
)

// ReachTimeout bounds the E06 reachability check, as in the reference.
const ReachTimeout = 5 * time.Second

// CheckCoreReachable is the reference's E06 check (azure-aks.md §1.3 3.6):
// resolve Core's host and GET its base URL. Any HTTP status counts as
// reachable. Skipped with SKIP_VALIDATIONS. client nil uses a default
// client; its timeout is capped at ReachTimeout.
func (s *Settings) CheckCoreReachable(ctx context.Context, client *http.Client) error {
	if s.SkipValidations {
		return nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	u, err := url.Parse(s.CoreBaseURL)
	if err != nil {
		return startupErr(E04, err, "%s %q is not a URL", EnvCoreBaseURL, s.CoreBaseURL)
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, u.Hostname())
	if err != nil {
		return startupErr(E06, err, "cannot resolve UID2 Core host %s (%v); allow DNS, and %s", u.Hostname(), err, s.egressHint())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.CoreBaseURL, nil)
	if err != nil {
		return startupErr(E04, err, "%s %q is not a URL", EnvCoreBaseURL, s.CoreBaseURL)
	}
	resp, err := client.Do(req)
	if err != nil {
		return startupErr(E06, err, "cannot reach UID2 Core at %s (resolved to %s): %s; %s",
			s.CoreBaseURL, addrs[0], oneLine(err), s.egressHint())
	}
	resp.Body.Close()
	return nil
}

// egressHint names every destination the operator needs in its
// environment (UID2's network egress page), plus overridden Core and
// Opt-Out hosts (integ only), so one E06 line is enough to fix a firewall.
func (s *Settings) egressHint() string {
	var extra []string
	for _, raw := range []string{s.CoreBaseURL, s.OptoutBaseURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" || slices.Contains(extra, u.Hostname()) ||
			slices.ContainsFunc(egress.Hosts(s.Environment), func(h egress.Host) bool { return h.Name == u.Hostname() }) {
			continue
		}
		extra = append(extra, u.Hostname())
	}
	names := egress.Names(s.Environment)
	if len(extra) > 0 {
		names = strings.Join(extra, ", ") + ", " + names
	}
	return fmt.Sprintf("allow outbound HTTPS (port %d) from the pod's subnet to %s", egress.Port, names)
}

// InstanceIDPrefix returns the operator's instance id prefix,
// "azr-<6 hex>-<version>", the reference's shape, with the 6 hex digits
// drawn from random (crypto/rand when nil) instead of the start time, so
// pods that start in the same second differ.
func InstanceIDPrefix(version string, random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [3]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	if version == "" {
		version = "unknown"
	}
	return "azr-" + hex.EncodeToString(b[:]) + "-" + version, nil
}
