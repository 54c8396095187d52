package aks

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
)

// PolicyPod returns what the CCE policy measures of the manifest's
// Deployment: each container's image, command, args, working dir, env,
// volume mounts, security context and exec probes or hooks. The operator
// container (OperatorContainer) is marked so that its three deployment
// variables get wildcard rules. The manifest must hold exactly one
// Deployment; placeholders may still be in it (only IMAGE's container is
// looked up by image reference, and the caller maps that reference).
func PolicyPod(objs *Objects) (ccepolicy.Pod, error) {
	if len(objs.Deployments) != 1 {
		return ccepolicy.Pod{}, fmt.Errorf("policy: the manifest has %d Deployments; want 1", len(objs.Deployments))
	}
	spec := objs.Deployments[0].Spec.Template.Spec
	if len(spec.InitContainers) > 0 {
		return ccepolicy.Pod{}, fmt.Errorf("policy: initContainers are not supported")
	}
	readOnlyKinds := map[string]bool{}
	for _, v := range spec.Volumes {
		// Kubernetes mounts these read-only whatever the mount says.
		if v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil {
			readOnlyKinds[v.Name] = true
		}
	}
	var pod ccepolicy.Pod
	for _, c := range spec.Containers {
		pc := ccepolicy.Container{
			Name: c.Name, Image: c.Image, Command: c.Command, Args: c.Args, WorkingDir: c.WorkingDir,
			Operator: c.Name == OperatorContainer,
		}
		for _, e := range c.Env {
			pc.Env = append(pc.Env, ccepolicy.EnvVar{Name: e.Name, Value: e.Value, FromRef: e.ValueFrom != nil})
		}
		if len(c.EnvFrom) > 0 {
			return ccepolicy.Pod{}, fmt.Errorf("policy: container %s: envFrom is not supported; list each variable", c.Name)
		}
		for _, m := range c.VolumeMounts {
			pc.Mounts = append(pc.Mounts, ccepolicy.Mount{Path: m.MountPath, ReadOnly: m.ReadOnly || readOnlyKinds[m.Name]})
		}
		sc := mergeSecurityContext(spec.SecurityContext, c.SecurityContext)
		pc.RunAsUser, pc.RunAsGroup, pc.Privileged, pc.NoNewPrivileges = sc.user, sc.group, sc.privileged, sc.noNewPrivs
		for _, h := range []*corev1.ProbeHandler{probeHandler(c.LivenessProbe), probeHandler(c.ReadinessProbe), probeHandler(c.StartupProbe)} {
			if h != nil && h.Exec != nil {
				pc.ExecProcesses = append(pc.ExecProcesses, h.Exec.Command)
			}
		}
		if c.Lifecycle != nil {
			for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
				if h != nil && h.Exec != nil {
					pc.ExecProcesses = append(pc.ExecProcesses, h.Exec.Command)
				}
			}
		}
		pod.Containers = append(pod.Containers, pc)
	}
	return pod, nil
}

type securityContext struct {
	user, group            *int64
	privileged, noNewPrivs bool
}

// mergeSecurityContext applies the container's context over the pod's, as
// the kubelet does for the fields the policy measures.
func mergeSecurityContext(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) securityContext {
	var sc securityContext
	if pod != nil {
		sc.user, sc.group = pod.RunAsUser, pod.RunAsGroup
	}
	if c != nil {
		if c.RunAsUser != nil {
			sc.user = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			sc.group = c.RunAsGroup
		}
		sc.privileged = c.Privileged != nil && *c.Privileged
		sc.noNewPrivs = c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation
	}
	return sc
}

func probeHandler(p *corev1.Probe) *corev1.ProbeHandler {
	if p == nil {
		return nil
	}
	return &p.ProbeHandler
}
