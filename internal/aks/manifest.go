package aks

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/uid2-private-operator/uid2-operator/internal/config"
)

// Names and values the manifest and the chart must keep (azure-aks.md §4.1).
const (
	DeploymentName    = "operator-deployment"
	ServiceName       = "operator-svc"
	OperatorContainer = "uid2-operator"
	SKRContainer      = "skr"
	HealthPath        = "/ops/healthcheck"
	// LivePath is the liveness probe's path: it fails only when the process
	// is wedged, so a Core outage never restarts pods (issue 10).
	LivePath    = "/ops/live"
	APIPort     = 8080
	MetricsPort = 9080
	OperatorUID = 1000

	AnnotationCCEPolicy = "microsoft.containerinstance.virtualnode.ccepolicy"
	AnnotationIdentity  = "microsoft.containerinstance.virtualnode.identity"
	AnnotationInjectDNS = "microsoft.containerinstance.virtualnode.injectdns"
)

// Objects are the Kubernetes objects of a manifest, decoded strictly.
type Objects struct {
	Deployments []*appsv1.Deployment
	Services    []*corev1.Service
	PDBs        []*policyv1.PodDisruptionBudget
	HPAs        []*autoscalingv2.HorizontalPodAutoscaler
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// DecodeManifest splits a multi-document YAML manifest and decodes each
// document strictly (unknown or duplicate fields are errors) into its
// k8s.io/api type. Only the kinds this deployment uses are accepted.
func DecodeManifest(data []byte) (*Objects, error) {
	var objs Objects
	for i, doc := range docSeparator.Split(string(data), -1) {
		if isBlankYAML(doc) {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			o := new(appsv1.Deployment)
			err = yaml.UnmarshalStrict([]byte(doc), o)
			objs.Deployments = append(objs.Deployments, o)
		case "v1 Service":
			o := new(corev1.Service)
			err = yaml.UnmarshalStrict([]byte(doc), o)
			objs.Services = append(objs.Services, o)
		case "policy/v1 PodDisruptionBudget":
			o := new(policyv1.PodDisruptionBudget)
			err = yaml.UnmarshalStrict([]byte(doc), o)
			objs.PDBs = append(objs.PDBs, o)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := new(autoscalingv2.HorizontalPodAutoscaler)
			err = yaml.UnmarshalStrict([]byte(doc), o)
			objs.HPAs = append(objs.HPAs, o)
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %q (apiVersion %q)", i+1, tm.Kind, tm.APIVersion)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
	}
	return &objs, nil
}

func isBlankYAML(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// ManifestError is a rule the decoded objects break.
type ManifestError struct {
	Object  string // e.g. "Deployment operator-deployment"
	Field   string // e.g. "spec.template.spec.nodeSelector"
	Problem string
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Object, e.Field, e.Problem)
}

// Check verifies what the operator needs from its objects: one Deployment
// on the confidential virtual node with the SKR sidecar, ports 8080/9080,
// health probes, runAsUser 1000 and a rollout that never drops capacity; a
// LoadBalancer Service 80→8080 and a PodDisruptionBudget that select its
// pods. It returns the first problem found.
func (o *Objects) Check() error {
	if len(o.Deployments) != 1 {
		return &ManifestError{"manifest", "kind Deployment", fmt.Sprintf("want exactly 1, got %d", len(o.Deployments))}
	}
	d := o.Deployments[0]
	obj := "Deployment " + d.Name
	bad := func(field, format string, args ...any) error {
		return &ManifestError{obj, field, fmt.Sprintf(format, args...)}
	}
	if d.Name != DeploymentName {
		return bad("metadata.name", "want %q (kubectl apply upgrades it in place), got %q", DeploymentName, d.Name)
	}
	tpl := d.Spec.Template
	if d.Spec.Selector == nil || !selects(d.Spec.Selector.MatchLabels, tpl.Labels) || len(d.Spec.Selector.MatchLabels) == 0 {
		return bad("spec.selector", "does not select the pod template labels")
	}
	if s := d.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.String() != "0" ||
		s.RollingUpdate.MaxSurge == nil || s.RollingUpdate.MaxSurge.String() == "0" {
		return bad("spec.strategy", "want RollingUpdate with maxUnavailable 0 and maxSurge > 0 so no capacity is lost")
	}
	for _, a := range []string{AnnotationCCEPolicy, AnnotationIdentity} {
		if tpl.Annotations[a] == "" {
			return bad("spec.template.metadata.annotations", "%s is missing", a)
		}
	}
	if tpl.Annotations[AnnotationInjectDNS] != "false" {
		return bad("spec.template.metadata.annotations", "%s must be \"false\" (confidential pods cannot reach cluster DNS)", AnnotationInjectDNS)
	}
	ps := tpl.Spec
	if ps.NodeSelector["virtualization"] != "virtualnode2" {
		return bad("spec.template.spec.nodeSelector", "want virtualization: virtualnode2")
	}
	tolerated := false
	for _, t := range ps.Tolerations {
		if t.Key == "virtual-kubelet.io/provider" && t.Operator == corev1.TolerationOpExists && t.Effect == corev1.TaintEffectNoSchedule {
			tolerated = true
		}
	}
	if !tolerated {
		return bad("spec.template.spec.tolerations", "want virtual-kubelet.io/provider Exists NoSchedule")
	}
	skr, op := container(ps.Containers, SKRContainer), container(ps.Containers, OperatorContainer)
	if skr == nil || op == nil || len(ps.Containers) != 2 {
		return bad("spec.template.spec.containers", "want exactly the containers %s and %s", SKRContainer, OperatorContainer)
	}
	if op.SecurityContext == nil || op.SecurityContext.RunAsUser == nil || *op.SecurityContext.RunAsUser != OperatorUID {
		return bad("containers[uid2-operator].securityContext.runAsUser", "want %d (pinned by the CCE policy)", OperatorUID)
	}
	for _, want := range []int32{APIPort, MetricsPort} {
		if !hasPort(op.Ports, want) {
			return bad("containers[uid2-operator].ports", "port %d is missing", want)
		}
	}
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", op.ReadinessProbe, HealthPath}, {"livenessProbe", op.LivenessProbe, LivePath}} {
		p := pr.probe
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != pr.path || p.HTTPGet.Port.IntValue() != APIPort {
			return bad("containers[uid2-operator]."+pr.name, "want httpGet %s on port %d (exec probes change the enclave id)", pr.path, APIPort)
		}
	}
	// The API port opens only after the first attestation and load, so the
	// liveness probe must not give up before --startup-timeout does: a slow
	// cold start (Core briefly down) should end with the operator's own exit
	// message, not a kubelet kill.
	if p := op.LivenessProbe; p != nil {
		window := time.Duration(p.InitialDelaySeconds)*time.Second +
			time.Duration(max(p.FailureThreshold, 1))*time.Duration(max(p.PeriodSeconds, 1))*time.Second
		if window <= config.DefaultStartupTimeout {
			return bad("containers[uid2-operator].livenessProbe",
				"initialDelaySeconds + failureThreshold × periodSeconds is %s; want more than the start-up timeout (%s): the API port opens only after attestation and the first load",
				window, config.DefaultStartupTimeout)
		}
	}
	// SIGTERM → drain delay → shutdown timeout must end before the kubelet's SIGKILL.
	minGrace := int64((config.DefaultDrainDelay + config.DefaultShutdownTimeout).Seconds())
	if g := ps.TerminationGracePeriodSeconds; g == nil || *g < minGrace {
		return bad("spec.template.spec.terminationGracePeriodSeconds",
			"want at least %d: after SIGTERM the operator serves for its drain delay (%s), then waits up to its shutdown timeout (%s)",
			minGrace, config.DefaultDrainDelay, config.DefaultShutdownTimeout)
	}
	for _, c := range ps.Containers {
		if c.Lifecycle != nil {
			return bad("containers["+c.Name+"].lifecycle", "hooks change the CCE policy; remove them")
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			return bad("containers["+c.Name+"].resources.requests", "cpu and memory must be set (they size the container group)")
		}
	}
	for _, env := range []string{"VAULT_NAME", "OPERATOR_KEY_SECRET_NAME", "DEPLOYMENT_ENVIRONMENT"} {
		if envValue(op.Env, env) == "" {
			return bad("containers[uid2-operator].env", "%s is missing", env)
		}
	}

	if len(o.Services) != 1 {
		return &ManifestError{"manifest", "kind Service", fmt.Sprintf("want exactly 1, got %d", len(o.Services))}
	}
	svc := o.Services[0]
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || !selects(svc.Spec.Selector, tpl.Labels) || len(svc.Spec.Selector) == 0 {
		return &ManifestError{"Service " + svc.Name, "spec", "want type LoadBalancer selecting the operator pods"}
	}
	okPort := false
	for _, p := range svc.Spec.Ports {
		if p.Port == 80 && p.TargetPort.IntValue() == APIPort {
			okPort = true
		}
	}
	if !okPort {
		return &ManifestError{"Service " + svc.Name, "spec.ports", "want port 80 → targetPort 8080"}
	}
	if len(o.PDBs) != 1 {
		return &ManifestError{"manifest", "kind PodDisruptionBudget", fmt.Sprintf("want exactly 1, got %d", len(o.PDBs))}
	}
	if pdb := o.PDBs[0]; pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, tpl.Labels) {
		return &ManifestError{"PodDisruptionBudget " + pdb.Name, "spec.selector", "does not select the operator pods"}
	}
	for _, h := range o.HPAs {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			return &ManifestError{"HorizontalPodAutoscaler " + h.Name, "spec.scaleTargetRef", "does not target " + d.Name}
		}
	}
	return nil
}

// selects reports whether every selector label is on the pod.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func container(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func hasPort(ports []corev1.ContainerPort, port int32) bool {
	for _, p := range ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
