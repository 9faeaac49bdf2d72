package infra

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// rendered holds the objects of one kustomization, each decoded strictly
// into its official type.
type rendered struct {
	configMaps      []*corev1.ConfigMap
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	jobs            []*batchv1.Job
	networkPolicies []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	all             []metav1.Object
}

// decodeStrict decodes one YAML document into obj, failing on any field
// the type does not have and on duplicate keys, as the API server's strict
// field validation does. Field names are matched case-sensitively
// (sigs.k8s.io/json): encoding/json would take startupprobe for
// startupProbe, which the API server drops.
func decodeStrict[T any](t *testing.T, doc []byte, obj *T) *T {
	t.Helper()
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		t.Errorf("%v in:\n%s", err, doc)
		return obj
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err = errors.Join(append(strict, err)...); err != nil {
		t.Errorf("%v in:\n%s", err, doc)
	}
	return obj
}

// kustomize renders dir with kubectl and decodes every object.
func kustomize(t *testing.T, dir string) *rendered {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is not on PATH: the Kubernetes manifests cannot be rendered (install kubectl, which bundles kustomize)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	r := &rendered{}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var obj metav1.Object
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			o := decodeStrict(t, doc, &corev1.ConfigMap{})
			r.configMaps, obj = append(r.configMaps, o), o
		case "v1 Service":
			o := decodeStrict(t, doc, &corev1.Service{})
			r.services, obj = append(r.services, o), o
		case "apps/v1 Deployment":
			o := decodeStrict(t, doc, &appsv1.Deployment{})
			r.deployments, obj = append(r.deployments, o), o
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := decodeStrict(t, doc, &autoscalingv2.HorizontalPodAutoscaler{})
			r.hpas, obj = append(r.hpas, o), o
		case "policy/v1 PodDisruptionBudget":
			o := decodeStrict(t, doc, &policyv1.PodDisruptionBudget{})
			r.pdbs, obj = append(r.pdbs, o), o
		case "batch/v1 Job":
			o := decodeStrict(t, doc, &batchv1.Job{})
			r.jobs, obj = append(r.jobs, o), o
		case "networking.k8s.io/v1 NetworkPolicy":
			o := decodeStrict(t, doc, &networkingv1.NetworkPolicy{})
			r.networkPolicies, obj = append(r.networkPolicies, o), o
		case "monitoring.coreos.com/v1 ServiceMonitor":
			o := decodeStrict(t, doc, &monitoringv1.ServiceMonitor{})
			r.serviceMonitors, obj = append(r.serviceMonitors, o), o
		default:
			t.Fatalf("%s renders a %s %s, which this test does not know: add its type", dir, tm.APIVersion, tm.Kind)
		}
		r.all = append(r.all, obj)
	}
	return r
}

func one[T any](t *testing.T, what string, items []T) T {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("want exactly one %s, got %d", what, len(items))
	}
	return items[0]
}

// probe is an HTTP GET the cluster makes to an authd pod: a probe or the
// ServiceMonitor's scrape, by container port name.
type probe struct {
	what, port, path string
}

// checkManifests cross-checks the rendered objects of one kustomization and
// returns the HTTP GETs the cluster will make, for TestManifestProbes.
// It also returns the pods' configuration, ConfigMap and example Secret
// merged.
func checkManifests(t *testing.T, dir string, r *rendered) ([]probe, map[string]string) {
	t.Helper()
	dep := one(t, "Deployment", r.deployments)
	svc := one(t, "Service", r.services)
	hpa := one(t, "HorizontalPodAutoscaler", r.hpas)
	pdb := one(t, "PodDisruptionBudget", r.pdbs)
	job := one(t, "Job", r.jobs)
	np := one(t, "NetworkPolicy", r.networkPolicies)
	sm := one(t, "ServiceMonitor", r.serviceMonitors)
	cm := one(t, "ConfigMap", r.configMaps)

	// Labels: every object says it is authd; one selector picks the
	// server pods everywhere, and it does not pick the migration pods.
	for _, o := range r.all {
		l := o.GetLabels()
		if l["app.kubernetes.io/name"] != "authd" || l["app.kubernetes.io/part-of"] != "authd" {
			t.Errorf("%s: %s lacks app.kubernetes.io/name=authd and part-of=authd: %v", dir, o.GetName(), l)
		}
	}
	sel := dep.Spec.Selector.MatchLabels
	if len(dep.Spec.Selector.MatchExpressions) > 0 || len(sel) == 0 {
		t.Fatalf("%s: the Deployment's selector must be plain matchLabels", dir)
	}
	if !labels.SelectorFromSet(sel).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("%s: the Deployment's selector %v does not match its pods %v", dir, sel, dep.Spec.Template.Labels)
	}
	if labels.SelectorFromSet(sel).Matches(labels.Set(job.Spec.Template.Labels)) {
		t.Errorf("%s: the server selector %v matches the migration pods %v: the Service would route to them", dir, sel, job.Spec.Template.Labels)
	}
	same := func(what string, got map[string]string) {
		t.Helper()
		if !maps.Equal(got, sel) {
			t.Errorf("%s: %s selects %v, the Deployment %v", dir, what, got, sel)
		}
	}
	same("the Service", svc.Spec.Selector)
	same("the PodDisruptionBudget", pdb.Spec.Selector.MatchLabels)
	same("the NetworkPolicy", np.Spec.PodSelector.MatchLabels)
	for _, c := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		same("a topology spread constraint", c.LabelSelector.MatchLabels)
	}
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
		t.Errorf("%s: the ServiceMonitor selects services %v, the Service is labelled %v", dir, sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != dep.Name {
		t.Errorf("%s: the HPA scales %s %s, not the Deployment %s", dir, ref.Kind, ref.Name, dep.Name)
	}
	replicas := *dep.Spec.Replicas
	if hpa.Spec.MinReplicas == nil || replicas < *hpa.Spec.MinReplicas || replicas > hpa.Spec.MaxReplicas {
		t.Errorf("%s: the Deployment's %d replicas are outside the HPA's bounds", dir, replicas)
	}
	if *hpa.Spec.MinReplicas < 2 {
		t.Errorf("%s: the HPA may scale down to %d replica: no rolling update or node drain without an outage", dir, *hpa.Spec.MinReplicas)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() >= int(*hpa.Spec.MinReplicas) {
		t.Errorf("%s: the PodDisruptionBudget must leave a replica up (maxUnavailable below minReplicas)", dir)
	}

	// Both pods run the same image, as the Dockerfile's user, locked down.
	server := one(t, "server container", dep.Spec.Template.Spec.Containers)
	migrate := one(t, "migration container", job.Spec.Template.Spec.Containers)
	if server.Image != migrate.Image {
		t.Errorf("%s: the server runs %s, the migration %s", dir, server.Image, migrate.Image)
	}
	if !strings.HasPrefix(server.Image, "ghcr.io/talentforge/authd:") {
		t.Errorf("%s: image %s, want ghcr.io/talentforge/authd:<tag>", dir, server.Image)
	}
	if path.Base(dir) == "production" && strings.HasSuffix(server.Image, ":latest") {
		t.Errorf("%s: production runs %s: pin a release", dir, server.Image)
	}
	if !slices.Equal(server.Args, []string{"serve"}) || !slices.Equal(migrate.Args, []string{"migrate", "up"}) {
		t.Errorf("%s: args %v and %v, want [serve] and [migrate up]", dir, server.Args, migrate.Args)
	}
	for _, spec := range []corev1.PodSpec{dep.Spec.Template.Spec, job.Spec.Template.Spec} {
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
			psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v: want runAsNonRoot, runAsUser 65532 (the image's USER), seccomp RuntimeDefault", dir, psc)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: authd calls no Kubernetes API: automountServiceAccountToken should be false", dir)
		}
		for _, c := range spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s: container %s: want readOnlyRootFilesystem, no privilege escalation, capabilities drop ALL", dir, c.Name)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: container %s needs cpu and memory requests and a memory limit", dir, c.Name)
			}
		}
	}

	// Configuration: both read the generated ConfigMap and the Secret of
	// secret.example.yaml, and every name in them is an authd variable.
	secret := decodeStrict(t, readFile(t, "k8s/base/secret.example.yaml"), &corev1.Secret{})
	for _, c := range []corev1.Container{server, migrate} {
		var refs []string
		for _, e := range c.EnvFrom {
			switch {
			case e.ConfigMapRef != nil:
				refs = append(refs, "configmap/"+e.ConfigMapRef.Name)
			case e.SecretRef != nil:
				refs = append(refs, "secret/"+e.SecretRef.Name)
			}
		}
		want := []string{"configmap/" + cm.Name, "secret/" + secret.Name}
		if !slices.Equal(refs, want) {
			t.Errorf("%s: container %s reads %v, want %v", dir, c.Name, refs, want)
		}
		var names []string
		for _, e := range c.Env {
			names = append(names, e.Name)
		}
		checkEnvNames(t, dir+" container "+c.Name, names)
	}
	checkEnvNames(t, dir+" ConfigMap", slices.Sorted(maps.Keys(cm.Data)))
	checkEnvNames(t, "k8s/base/secret.example.yaml", slices.Sorted(maps.Keys(secret.StringData)))
	for _, n := range []string{"AUTH_SECRET_KEY", "AUTH_DATABASE_URL", "AUTH_REDIS_URL", "AUTH_SMTP_URL"} {
		if _, ok := secret.StringData[n]; !ok {
			t.Errorf("secret.example.yaml lacks %s, which production needs", n)
		}
		if _, ok := cm.Data[n]; ok {
			t.Errorf("%s: %s is in the ConfigMap: secrets belong in the Secret", dir, n)
		}
	}
	if cm.Data["AUTH_ENV"] != "production" || !strings.HasPrefix(cm.Data["AUTH_ISSUER"], "https://") || !strings.HasPrefix(cm.Data["AUTH_UI_URL"], "https://") {
		t.Errorf("%s: want AUTH_ENV=production with https AUTH_ISSUER and AUTH_UI_URL, got %v", dir, cm.Data)
	}

	// Ports: the container's are the ones authd listens on.
	ports := map[string]int32{}
	for _, p := range server.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, v := range map[string]string{"http": "AUTH_ADDR", "metrics": "AUTH_METRICS_ADDR"} {
		if strconv.Itoa(int(ports[name])) != portOf(t, cm.Data[v]) {
			t.Errorf("%s: container port %s is %d, authd listens on %s=%s", dir, name, ports[name], v, cm.Data[v])
		}
	}
	svcTarget := map[string]string{}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("%s: Service port %s targets %s, which the container does not name", dir, p.Name, p.TargetPort.String())
		}
		svcTarget[p.Name] = p.TargetPort.String()
	}
	ep := one(t, "ServiceMonitor endpoint", sm.Spec.Endpoints)
	if svcTarget[ep.Port] != "metrics" {
		t.Errorf("%s: the ServiceMonitor scrapes Service port %q, which does not lead to the metrics port", dir, ep.Port)
	}
	// The metrics port is open to Prometheus alone, the http port to all.
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil {
				t.Errorf("%s: a NetworkPolicy rule opens every port", dir)
				continue
			}
			name := p.Port.String()
			if _, ok := ports[name]; !ok {
				t.Errorf("%s: the NetworkPolicy opens port %s, which the container does not name", dir, name)
			}
			if name == "metrics" && len(rule.From) == 0 {
				t.Errorf("%s: the NetworkPolicy opens the metrics port to everyone", dir)
			}
		}
	}

	// Shutdown: SIGKILL must not cut authd's drain short.
	delay, err1 := time.ParseDuration(cm.Data["AUTH_SHUTDOWN_DELAY"])
	timeout, err2 := time.ParseDuration(cm.Data["AUTH_SHUTDOWN_TIMEOUT"])
	if err := errors.Join(err1, err2); err != nil {
		t.Errorf("%s: %v", dir, err)
	}
	grace := time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if grace <= delay+timeout {
		t.Errorf("%s: terminationGracePeriodSeconds %s is not above AUTH_SHUTDOWN_DELAY + AUTH_SHUTDOWN_TIMEOUT (%s)", dir, grace, delay+timeout)
	}
	rp := server.ReadinessProbe
	if rp == nil || time.Duration(rp.PeriodSeconds*rp.FailureThreshold)*time.Second >= delay {
		t.Errorf("%s: the readiness probe must notice the shutdown within AUTH_SHUTDOWN_DELAY (%s)", dir, delay)
	}

	var probes []probe
	for what, p := range map[string]*corev1.Probe{"startupProbe": server.StartupProbe, "readinessProbe": server.ReadinessProbe, "livenessProbe": server.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: the server has no HTTP %s", dir, what)
			continue
		}
		probes = append(probes, probe{what, p.HTTPGet.Port.String(), p.HTTPGet.Path})
	}
	probes = append(probes, probe{"ServiceMonitor", "metrics", ep.Path})
	for _, p := range probes {
		if _, ok := ports[p.port]; !ok {
			t.Errorf("%s: %s uses port %s, which the container does not name", dir, p.what, p.port)
		}
	}
	env := maps.Clone(cm.Data)
	maps.Copy(env, secret.StringData)
	return probes, env
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKustomize renders the base and every overlay, decodes each object
// strictly into its official type, cross-checks them, and GETs every probe
// path from a running authd on the port it names.
func TestKustomize(t *testing.T) {
	dirs := []string{"k8s/base"}
	overlays, err := os.ReadDir("k8s/overlays")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range overlays {
		dirs = append(dirs, "k8s/overlays/"+o.Name())
	}
	bin := buildAuthd(t)
	var probes []probe
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			p, env := checkManifests(t, dir, kustomize(t, dir))
			probes = append(probes, p...)
			// The example Secret's placeholder must not pass for a key.
			if err, _ := authdConfig(t, bin, env); err == nil {
				t.Error("authd accepts secret.example.yaml's AUTH_SECRET_KEY placeholder")
			}
			env["AUTH_SECRET_KEY"] = testSecret
			checkAuthdAccepts(t, bin, dir, env)
		})
	}

	a := startAuthd(t, bin)
	base := map[string]string{"http": a.url, "metrics": a.metricsURL}
	for _, p := range probes {
		if status, _, body := get(t, base[p.port]+p.path, nil); status != 200 {
			t.Errorf("%s GET %s on the %s port: %d %s", p.what, p.path, p.port, status, body)
		}
	}
	// What the metrics port serves is not on the public one.
	if status, _, _ := get(t, a.url+"/metrics", nil); status != 404 {
		t.Errorf("GET /metrics on the public port: %d, want 404 with AUTH_METRICS_ADDR set", status)
	}
}
