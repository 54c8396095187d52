{{/* Labels on every object's metadata. Pod labels stay app.kubernetes.io/name only, as in deploy/aks/operator.yaml. */}}
{{- define "uid2-operator.labels" -}}
app.kubernetes.io/name: operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "uid2-operator.image" -}}
{{- if .Values.image.reference -}}
{{ .Values.image.reference }}
{{- else -}}
{{ required "image.repository is required (or image.reference)" .Values.image.repository }}:{{ required "image.tag is required (or image.reference)" .Values.image.tag }}
{{- end -}}
{{- end }}

{{/*
Deployment replicas. Without autoscaling: replicaCount. With it, replicas
stays set, because leaving it out makes an upgrade from a fixed count drop
the live Deployment to Kubernetes' default of 1 until the HPA reacts: it is
the live Deployment's count (lookup, so the HPA's scale survives upgrades),
and never below max(autoscaling.minReplicas, replicaCount). Without a
cluster (helm template, client dry-run) lookup is empty and the floor is used.
*/}}
{{- define "uid2-operator.replicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- $floor := max .Values.autoscaling.minReplicas .Values.replicaCount -}}
{{- $live := lookup "apps/v1" "Deployment" .Release.Namespace "operator-deployment" -}}
{{- max $floor (dig "spec" "replicas" 0 $live) -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end }}

{{/*
The fewest pods the chart may run: the HPA's minimum, or replicaCount. A PDB
minAvailable above it could never be met, so no node could be drained.
*/}}
{{- define "uid2-operator.minPods" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.minReplicas -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end }}
