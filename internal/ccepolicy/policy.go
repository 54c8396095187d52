// Package ccepolicy computes the confidential-container (CCE) policy of an
// AKS virtual-node pod and its enclave id (azure-aks.md §4.3), without a
// Docker engine or az confcom.
//
// For each image layer it computes the dm-verity root hash the guest
// checks when it mounts the layer (hcsshim's tar2ext4 and dmverity), and it
// writes the policy with hcsshim's own rego marshalling
// (securitypolicy.MarshalPolicy), in the shape az confcom gives a virtual
// node pod: the aci-cc-infra-fragment import, one entry per container with
// its command, env rules, layers, mounts, user, capabilities and signals,
// the pause container, and the allow_* flags of a non-debug policy.
//
// UID2 specifics: the values of VAULT_NAME, OPERATOR_KEY_SECRET_NAME and
// DEPLOYMENT_ENVIRONMENT may vary (one policy, hence one enclave id, serves
// every deployment of an image); CORE_BASE_URL, OPTOUT_BASE_URL, DEBUG_MODE
// and SKIP_VALIDATIONS are allowed only in a debug policy, which has its
// own enclave id. Everything else in a container's env is pinned.
//
// The enclave id is the lowercase hex SHA-256 of the policy text (the
// base64-decoded annotation): ACI reports it as HOST_DATA, MAA as
// x-ms-sevsnpvm-hostdata, and Core must have it registered.
package ccepolicy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/Microsoft/hcsshim/pkg/securitypolicy"
)

// The env vars whose values each deployment chooses (wildcarded), and the
// test-only overrides a debug policy allows (azure-aks.md §1.2, §4.3).
var (
	VariableEnv = []string{"VAULT_NAME", "OPERATOR_KEY_SECRET_NAME", "DEPLOYMENT_ENVIRONMENT"}
	DebugEnv    = []string{"CORE_BASE_URL", "OPTOUT_BASE_URL", "DEBUG_MODE", "SKIP_VALIDATIONS"}
)

// Errors returned by Generate.
var (
	// ErrInput means a container of the pod cannot be expressed in a
	// policy as given (a missing image, an unsupported env source, a
	// character the rego text cannot carry, a debug-only variable in a
	// non-debug policy).
	ErrInput = errors.New("ccepolicy: invalid input")
)

// Pod is the part of a pod spec that the policy measures.
type Pod struct {
	Containers []Container
}

// Container is one container of the pod as the manifest declares it.
type Container struct {
	Name  string
	Image string // the reference in the manifest; looked up in the images map
	// Command and Args follow Kubernetes: Command replaces the image
	// entrypoint (and drops its Cmd), Args replace the image Cmd.
	Command, Args []string
	WorkingDir    string
	Env           []EnvVar
	Mounts        []Mount
	RunAsUser     *int64
	RunAsGroup    *int64
	Privileged    bool
	// NoNewPrivileges is allowPrivilegeEscalation: false.
	NoNewPrivileges bool
	// ExecProcesses are the commands of exec probes and lifecycle hooks.
	ExecProcesses [][]string
	// Operator marks the UID2 operator container: VariableEnv and, in a
	// debug policy, DebugEnv apply to it.
	Operator bool
}

// EnvVar is a literal env entry of the manifest. FromRef is set for
// valueFrom entries, which the policy cannot pin.
type EnvVar struct {
	Name, Value string
	FromRef     bool
}

// Mount is a volumeMount of the manifest.
type Mount struct {
	Path     string
	ReadOnly bool
}

// Options change the policy. The zero value gives the production policy.
type Options struct {
	// Debug adds "NAME=.+" rules for DebugEnv to the operator container and
	// turns on the debug flags az confcom's --debug-mode sets (dump stacks,
	// runtime logging). The policy, hence the enclave id, differs.
	Debug bool
}

// Policy is a generated CCE policy.
type Policy struct {
	// Rego is the policy text: the decoded annotation value.
	Rego string
}

// Base64 returns the annotation value: standard base64 of the rego text,
// one line.
func (p *Policy) Base64() string { return base64.StdEncoding.EncodeToString([]byte(p.Rego)) }

// EnclaveID returns the lowercase hex SHA-256 of the rego text.
func (p *Policy) EnclaveID() string {
	sum := sha256.Sum256([]byte(p.Rego))
	return hex.EncodeToString(sum[:])
}

// Facts of the platform the policy runs on (az confcom's VN2 defaults,
// azure-aks.md §4.3). They are not ours to choose: the guest injects these
// env vars and mounts into every container of a virtual-node pod.
const (
	// PauseLayerHash is the dm-verity root hash of the pause image layer
	// the ACI infrastructure starts first in every container group.
	PauseLayerHash = "16b514057a06ad665f92c02863aca074fd5976c755d26bff16365299169e8415"
	pausePath      = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	sandboxEmpty   = "sandbox:///tmp/atlas/emptydir/.+"
	infraIssuer    = "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.3"
	infraFeed      = "mcr.microsoft.com/aci/aci-cc-infra-fragment"
	defaultWorkDir = "/"
	defaultUmask   = "0022"
)

// platformEnvRules are the env rules every user container gets: CRI's
// TERM, the Service Fabric and managed-identity variables ACI sets, the
// restart marker and the Kubernetes service links of a virtual node.
var platformEnvRules = []securitypolicy.EnvRuleConfig{
	str("TERM=xterm"),
	re("(?i)(FABRIC)_.+=.+"),
	re("HOSTNAME=.+"),
	re("T(E)?MP=.+"),
	re("FabricPackageFileName=.+"),
	re("HostedServiceName=.+"),
	re("IDENTITY_API_VERSION=.+"),
	re("IDENTITY_HEADER=.+"),
	re("IDENTITY_SERVER_THUMBPRINT=.+"),
	re("azurecontainerinstance_restarted_by=.+"),
	re("[A-Z0-9_]+_SERVICE_HOST=.+"),
	re("[A-Z0-9_]+_SERVICE_PORT=.+"),
	re("[A-Z0-9_]+_SERVICE_PORT_[A-Z0-9_]+=.+"),
	re("[A-Z0-9_]+_PORT=.+"),
	re("[A-Z0-9_]+_PORT_[0-9]+_TCP=.+"),
	re("[A-Z0-9_]+_PORT_[0-9]+_TCP_PROTO=.+"),
	re("[A-Z0-9_]+_PORT_[0-9]+_TCP_PORT=.+"),
	re("[A-Z0-9_]+_PORT_[0-9]+_TCP_ADDR=.+"),
}

// platformMounts are the files a virtual node binds into every container.
var platformMounts = []securitypolicy.MountConfig{
	{HostPath: sandboxEmpty, ContainerPath: "/etc/resolv.conf"},
	{HostPath: sandboxEmpty, ContainerPath: "/var/run/secrets/kubernetes.io/serviceaccount", Readonly: true},
	{HostPath: sandboxEmpty, ContainerPath: "/etc/hosts"},
	{HostPath: sandboxEmpty, ContainerPath: "/dev/termination-log"},
	{HostPath: sandboxEmpty, ContainerPath: "/etc/hostname"},
}

func str(p string) securitypolicy.EnvRuleConfig {
	return securitypolicy.EnvRuleConfig{Strategy: securitypolicy.EnvVarRuleString, Rule: p}
}

func re(p string) securitypolicy.EnvRuleConfig {
	return securitypolicy.EnvRuleConfig{Strategy: securitypolicy.EnvVarRuleRegex, Rule: p}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// Generate writes the policy for pod. images maps each container's Image
// reference to its inspected image.
func Generate(pod Pod, images map[string]*Image, opts Options) (*Policy, error) {
	if len(pod.Containers) == 0 {
		return nil, fmt.Errorf("%w: the pod has no containers", ErrInput)
	}
	var containers []*securitypolicy.Container
	for _, c := range pod.Containers {
		img := images[c.Image]
		if img == nil {
			return nil, fmt.Errorf("%w: container %s: no image for %q", ErrInput, c.Name, c.Image)
		}
		pc, err := policyContainer(c, img, opts)
		if err != nil {
			return nil, err
		}
		containers = append(containers, pc)
	}
	containers = append(containers, pauseContainer())
	fragments := []securitypolicy.FragmentConfig{{
		Issuer: infraIssuer, Feed: infraFeed, MinimumSVN: "1", Includes: []string{"containers", "fragments"},
	}}
	rego, err := securitypolicy.MarshalPolicy("rego", false, containers, nil, fragments,
		true,       // allow_properties_access
		opts.Debug, // allow_dump_stacks
		opts.Debug, // allow_runtime_logging
		// VN2 injects env vars no rule names; UID2's AKS policy keeps
		// dropping on (azure-aks.md §4.3 step 5). An unlisted variable
		// never reaches the process.
		true,
		false, // allow_unencrypted_scratch
		true,  // allow_capability_dropping
	)
	if err != nil {
		return nil, fmt.Errorf("ccepolicy: marshal: %w", err)
	}
	return &Policy{Rego: rego}, nil
}

func policyContainer(c Container, img *Image, opts Options) (*securitypolicy.Container, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: container %s: %s", ErrInput, c.Name, fmt.Sprintf(format, args...))
	}
	// Kubernetes: command replaces entrypoint and Cmd; args replace Cmd.
	command := slices.Concat(img.Entrypoint, img.Cmd)
	switch {
	case len(c.Command) > 0:
		command = slices.Concat(c.Command, c.Args)
	case len(c.Args) > 0:
		command = slices.Concat(img.Entrypoint, c.Args)
	}
	if len(command) == 0 {
		return nil, fail("no command: the image has no entrypoint and the manifest sets none")
	}
	workDir := c.WorkingDir
	if workDir == "" {
		workDir = img.WorkingDir
	}
	if workDir == "" {
		workDir = defaultWorkDir
	}

	var env []securitypolicy.EnvRuleConfig
	for _, kv := range img.Env {
		env = append(env, str(kv))
	}
	env = append(env, platformEnvRules...)
	seen := map[string]bool{}
	for _, e := range c.Env {
		if !envName.MatchString(e.Name) {
			return nil, fail("env name %q is not a valid variable name", e.Name)
		}
		if seen[e.Name] {
			return nil, fail("env %s is set twice", e.Name)
		}
		seen[e.Name] = true
		switch {
		case c.Operator && slices.Contains(VariableEnv, e.Name):
			env = append(env, re(regexp.QuoteMeta(e.Name)+"=.+"))
		case c.Operator && slices.Contains(DebugEnv, e.Name):
			if !opts.Debug {
				return nil, fail("env %s is a test-only override: it needs a debug policy (--debug-policy), which has a different enclave id", e.Name)
			}
			// Added below with the other debug rules.
		case e.FromRef:
			return nil, fail("env %s uses valueFrom; the policy pins env values, so give it a literal value", e.Name)
		default:
			env = append(env, str(e.Name+"="+e.Value))
		}
	}
	if c.Operator && opts.Debug {
		for _, n := range DebugEnv {
			env = append(env, re(n+"=.+"))
		}
	}

	mounts := slices.Clone(platformMounts)
	for _, m := range c.Mounts {
		if !strings.HasPrefix(m.Path, "/") {
			return nil, fail("mount path %q is not absolute", m.Path)
		}
		mounts = append(mounts, securitypolicy.MountConfig{HostPath: sandboxEmpty, ContainerPath: m.Path, Readonly: m.ReadOnly})
	}

	user, err := userConfig(c, img)
	if err != nil {
		return nil, fail("%v", err)
	}
	caps := securitypolicy.DefaultUnprivilegedCapabilities()
	if c.Privileged {
		caps = securitypolicy.DefaultPrivilegedCapabilities()
	}
	capabilities := &securitypolicy.CapabilitiesConfig{
		Bounding: caps, Effective: caps, Permitted: caps,
		Inheritable: securitypolicy.EmptyCapabiltiesSet(), Ambient: securitypolicy.EmptyCapabiltiesSet(),
	}
	var execs []securitypolicy.ExecProcessConfig
	for _, cmd := range c.ExecProcesses {
		execs = append(execs, securitypolicy.ExecProcessConfig{Command: cmd, Signals: []syscall.Signal{}})
	}
	signals, err := stopSignals(img.StopSignal)
	if err != nil {
		return nil, fail("%v", err)
	}

	strs := slices.Concat(command, []string{workDir}, img.LayerHashes)
	for _, r := range env {
		strs = append(strs, r.Rule)
	}
	for _, m := range mounts {
		strs = append(strs, m.ContainerPath)
	}
	for _, cmd := range c.ExecProcesses {
		strs = append(strs, cmd...)
	}
	if err := regoSafe(strs); err != nil {
		return nil, fail("%v", err)
	}
	pc, err := securitypolicy.CreateContainerPolicy(command, img.LayerHashes, env, workDir, mounts,
		c.Privileged, execs, signals, true, c.NoNewPrivileges, user, capabilities, "")
	if err != nil {
		return nil, fail("%v", err)
	}
	return pc, nil
}

// userConfig follows az confcom: runAsUser/runAsGroup become "id" rules;
// otherwise the image's USER, and "any" when the image has none.
func userConfig(c Container, img *Image) (securitypolicy.UserConfig, error) {
	anyID := securitypolicy.IDNameConfig{Strategy: securitypolicy.IDNameStrategyAny}
	u := securitypolicy.UserConfig{UserIDName: anyID, GroupIDNames: []securitypolicy.IDNameConfig{anyID}, Umask: defaultUmask}
	if c.RunAsUser != nil || c.RunAsGroup != nil {
		if c.RunAsUser != nil {
			u.UserIDName = securitypolicy.IDNameConfig{Strategy: securitypolicy.IDNameStrategyID, Rule: strconv.FormatInt(*c.RunAsUser, 10)}
		}
		if c.RunAsGroup != nil {
			u.GroupIDNames = []securitypolicy.IDNameConfig{{Strategy: securitypolicy.IDNameStrategyID, Rule: strconv.FormatInt(*c.RunAsGroup, 10)}}
		}
		return u, nil
	}
	if img.User == "" {
		return u, nil
	}
	parts := strings.Split(img.User, ":")
	if len(parts) > 2 {
		return u, fmt.Errorf("image USER %q is not user[:group]", img.User)
	}
	idName := func(s string) securitypolicy.IDNameConfig {
		if _, err := strconv.ParseUint(s, 10, 32); err == nil {
			return securitypolicy.IDNameConfig{Strategy: securitypolicy.IDNameStrategyID, Rule: s}
		}
		return securitypolicy.IDNameConfig{Strategy: securitypolicy.IDNameStrategyName, Rule: s}
	}
	u.UserIDName = idName(parts[0])
	if len(parts) == 2 {
		u.GroupIDNames = []securitypolicy.IDNameConfig{idName(parts[1])}
	}
	return u, regoSafe(parts)
}

// stopSignals lists the signals the kubelet may send the container's init
// process: SIGTERM always (the operator drains on it; without it the
// guest refuses a graceful stop), plus the image's STOPSIGNAL.
func stopSignals(stop string) ([]syscall.Signal, error) {
	signals := []syscall.Signal{syscall.SIGTERM}
	if stop == "" {
		return signals, nil
	}
	var sig syscall.Signal
	if n, err := strconv.Atoi(stop); err == nil {
		sig = syscall.Signal(n)
	} else {
		var ok bool
		sig, ok = signalNames[strings.TrimPrefix(strings.ToUpper(stop), "SIG")]
		if !ok {
			return nil, fmt.Errorf("image STOPSIGNAL %q is not a known signal", stop)
		}
	}
	if sig <= 0 || sig > 64 {
		return nil, fmt.Errorf("image STOPSIGNAL %q is out of range", stop)
	}
	if sig != syscall.SIGTERM {
		signals = append(signals, sig)
	}
	return signals, nil
}

var signalNames = map[string]syscall.Signal{
	"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15, "WINCH": 28,
}

// regoSafe rejects strings hcsshim's marshaller would write unescaped into
// the rego text ("…" and `…` literals): a quote, backquote, backslash or
// control character would change the policy's meaning or break it.
func regoSafe(values []string) error {
	for _, v := range values {
		for _, r := range v {
			if r == '"' || r == '`' || r == '\\' || r < 0x20 || r == 0x7f {
				return fmt.Errorf("%q: a quote, backquote, backslash or control character cannot be written into the policy", v)
			}
		}
	}
	return nil
}

// pauseContainer is the container group's pause container as az confcom
// lists it: /pause, PATH required, any user, default capabilities.
func pauseContainer() *securitypolicy.Container {
	anyID := securitypolicy.IDNameConfig{Strategy: securitypolicy.IDNameStrategyAny}
	caps := securitypolicy.DefaultUnprivilegedCapabilities()
	env := []securitypolicy.EnvRuleConfig{{Strategy: securitypolicy.EnvVarRuleString, Rule: pausePath, Required: true}, str("TERM=xterm")}
	user := securitypolicy.UserConfig{UserIDName: anyID, GroupIDNames: []securitypolicy.IDNameConfig{anyID}, Umask: defaultUmask}
	capabilities := &securitypolicy.CapabilitiesConfig{Bounding: caps, Effective: caps, Permitted: caps,
		Inheritable: securitypolicy.EmptyCapabiltiesSet(), Ambient: securitypolicy.EmptyCapabiltiesSet()}
	c, err := securitypolicy.CreateContainerPolicy([]string{"/pause"}, []string{PauseLayerHash}, env, defaultWorkDir,
		nil, false, nil, nil, true, false, user, capabilities, "")
	if err != nil {
		panic("ccepolicy: pause container: " + err.Error()) // constant input
	}
	return c
}
