package ociimage

import (
	_ "embed"
	"slices"
)

// caBundle is the Mozilla root store as Debian bookworm ships it
// (ca-certificates 20230311+deb12u1): the 142 files of
// /usr/share/ca-certificates/mozilla concatenated in byte order of their names,
// which is what update-ca-certificates writes on a machine without local CAs.
// It is pinned here rather than copied from the build machine because a
// machine's /etc/ssl/certs/ca-certificates.crt also holds its local CAs
// (corporate or sandbox proxies), which would change the image digest and
// would make the operator trust them. Update it deliberately: regenerate with
//
//	for f in $(ls /usr/share/ca-certificates/mozilla/*.crt | LC_ALL=C sort); do cat "$f"; done > ca-certificates.crt
//
// and change CACertificatesSHA256 (a test checks it).
//
//go:embed ca-certificates.crt
var caBundle []byte

// CACertificatesSHA256 is the hex SHA-256 of CACertificates.
const CACertificatesSHA256 = "a3413a37a8e09cc21b2c11c9ffb23d92d2fc9d1933c9e7617f5c4fba4f72d37d"

// CACertificates returns a copy of the pinned PEM bundle that Image installs
// at /etc/ssl/certs/ca-certificates.crt when Spec.CACerts is nil.
func CACertificates() []byte { return slices.Clone(caBundle) }
