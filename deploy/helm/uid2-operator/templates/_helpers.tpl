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
