{{/* Chart name, overridable. */}}
{{- define "hongyun.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide prefix: the release name, or "<release>-hongyun" when it lacks the chart name. */}}
{{- define "hongyun.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hongyun.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of one service's objects. Call with (dict "root" $ "name" "member"). */}}
{{- define "hongyun.componentName" -}}
{{- printf "%s-%s" (include "hongyun.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels (immutable once deployed). Call with (dict "root" $ "component" "member"). */}}
{{- define "hongyun.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hongyun.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Common labels. Call with (dict "root" $ "component" "member"). */}}
{{- define "hongyun.labels" -}}
helm.sh/chart: {{ include "hongyun.chart" .root }}
{{ include "hongyun.selectorLabels" . }}
app.kubernetes.io/part-of: hongyun
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Image reference for one service: its own image values override the global ones.
     Call with (dict "root" $ "svc" $svc). */}}
{{- define "hongyun.image" -}}
{{- $img := merge (deepCopy (default (dict) .svc.image)) (deepCopy .root.Values.image) -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "hongyun.imagePullPolicy" -}}
{{- $img := merge (deepCopy (default (dict) .svc.image)) (deepCopy .root.Values.image) -}}
{{- $img.pullPolicy -}}
{{- end -}}

{{- define "hongyun.secretName" -}}
{{- default (include "hongyun.fullname" .) .Values.secret.name -}}
{{- end -}}

{{- define "hongyun.configMapName" -}}
{{- printf "%s-config" (include "hongyun.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Non-secret environment as a YAML map. One source for the ConfigMap (running pods) and the
     migration Job (which runs before the ConfigMap exists). */}}
{{- define "hongyun.configData" -}}
{{- $c := .Values.config -}}
HONGYUN_LOG_LEVEL: {{ $c.logLevel | quote }}
HONGYUN_OTLP_ENDPOINT: {{ $c.otlpEndpoint | quote }}
HONGYUN_FIELD_ALGORITHM: {{ $c.fieldAlgorithm | quote }}
HONGYUN_FIELD_KEY_ACTIVE: {{ $c.fieldKeyActive | quote }}
HONGYUN_STORAGE_KIND: "s3"
HONGYUN_S3_BUCKET: {{ $c.s3.bucket | quote }}
HONGYUN_S3_SECURE: {{ ternary "true" "false" $c.s3.secure | quote }}
{{- with $c.natsUrl }}
HONGYUN_NATS_URL: {{ . | quote }}
{{- end }}
{{- with $c.s3.endpoint }}
HONGYUN_S3_ENDPOINT: {{ . | quote }}
{{- end }}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled (eq $svc.protocol "grpc") }}
HONGYUN_{{ $name | upper | replace "-" "_" }}_GRPC_TARGET: {{ printf "%s:%d" (include "hongyun.componentName" (dict "root" $ "name" $name)) (int $svc.port) | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := $c.extra }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level hardening. */}}
{{- define "hongyun.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level hardening. */}}
{{- define "hongyun.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Scheduling and pull settings shared by every pod. */}}
{{- define "hongyun.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- /* Kubernetes would inject <SERVICE>_PORT=tcp://… for every Service, e.g. HONGYUN_MEMBER_PORT,
       which collides with the HONGYUN_* settings namespace. */}}
enableServiceLinks: false
securityContext:
  {{- include "hongyun.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* One probe. Call with (dict "svc" $svc "probe" $probe "defaultPath" "/readyz"). */}}
{{- define "hongyun.probe" -}}
{{- $p := default (dict) .probe -}}
{{- if eq .svc.protocol "grpc" -}}
grpc:
  port: {{ .svc.port }}
  {{- with $p.grpcService }}
  service: {{ . | quote }}
  {{- end }}
{{- else -}}
httpGet:
  path: {{ default .defaultPath $p.path }}
  port: http
{{- end }}
initialDelaySeconds: {{ default 0 $p.initialDelaySeconds }}
periodSeconds: {{ default 10 $p.periodSeconds }}
timeoutSeconds: {{ default 2 $p.timeoutSeconds }}
failureThreshold: {{ default 3 $p.failureThreshold }}
{{- end -}}
