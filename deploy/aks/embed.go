// Package aksmanifest holds the AKS deployment manifest template
// (deploy/aks/operator.yaml) so that `uid2-operator aks render` ships the same
// bytes as the file in the repository (azure-aks.md §4.1).
package aksmanifest

import _ "embed"

// Operator is deploy/aks/operator.yaml: the operator Deployment,
// PodDisruptionBudget and LoadBalancer Service with the placeholders that
// `aks render` fills. Callers must not modify the slice.
//
//go:embed operator.yaml
var Operator []byte
