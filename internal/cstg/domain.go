package cstg

import (
	"net"
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/net/publicsuffix"
)

// RegistrableDomain returns the domain an Origin is matched by (OP
// DomainNameCheckUtil with Guava InternetDomainName): the top private domain
// when the host is under a public suffix of the ICANN or private section
// (github.io counts), "localhost" for localhost and one-label
// subdomains of it; otherwise nothing. IP addresses, unknown top-level
// domains, public suffixes themselves and unparseable origins give nothing.
// The port and the scheme are ignored.
func RegistrableDomain(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !validHostname(host) || net.ParseIP(host) != nil {
		return "", false
	}
	if host == "localhost" {
		return host, true
	}
	if sub, ok := strings.CutSuffix(host, ".localhost"); ok && !strings.Contains(sub, ".") {
		return "localhost", true
	}
	// publicsuffix applies the implicit "*" rule to unknown TLDs and reports
	// them like private-section rules (icann=false); Guava has no such rule,
	// and a single-label private rule does not exist, so this tells them apart.
	if suffix, icann := publicsuffix.PublicSuffix(host); !icann && !strings.Contains(suffix, ".") {
		return "", false
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", false
	}
	return d, true
}

// validHostname applies Guava's syntax rules: 1–253 characters, labels of
// 1–63 letters, digits, '-' or '_' that neither start nor end with '-', and
// a last label that does not start with a digit.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return last[0] < '0' || last[0] > '9'
}
