package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// k8sObjects decodes every document of the manifests in
// deploy/kubernetes strictly into the Kubernetes API types (k8s.io/api, the
// types the API server itself decodes into): an unknown or misspelt field,
// a wrong type or an unknown kind fails. JSON-schema validators such as
// kubeconform need schemas downloaded at run time, which CI cannot do.
func k8sObjects(t *testing.T) map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "kubernetes", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	objs := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s doc %d: %v", filepath.Base(f), i, err)
			}
			var obj any
			switch tm.APIVersion + "/" + tm.Kind {
			case "apps/v1/Deployment":
				obj = &appsv1.Deployment{}
			case "policy/v1/PodDisruptionBudget":
				obj = &policyv1.PodDisruptionBudget{}
			case "v1/Service":
				obj = &corev1.Service{}
			case "v1/ConfigMap":
				obj = &corev1.ConfigMap{}
			case "batch/v1/Job":
				obj = &batchv1.Job{}
			case "v1/PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			default:
				t.Errorf("%s doc %d: unexpected kind %s %s", filepath.Base(f), i, tm.APIVersion, tm.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s doc %d (%s): %v", filepath.Base(f), i, tm.Kind, err)
				continue
			}
			name := obj.(metav1.Object).GetName()
			for _, msg := range validation.IsDNS1123Subdomain(name) {
				t.Errorf("%s %s: name: %s", tm.Kind, name, msg)
			}
			objs[tm.Kind+"/"+name] = obj
		}
	}
	return objs
}

func TestKubernetesManifests(t *testing.T) {
	objs := k8sObjects(t)
	get := func(key string) any {
		o, ok := objs[key]
		if !ok {
			t.Fatalf("no %s in deploy/kubernetes", key)
		}
		return o
	}
	env := get("ConfigMap/riposte-env").(*corev1.ConfigMap)
	worker := get("Deployment/riposte-worker").(*appsv1.Deployment)
	serve := get("Deployment/riposte-serve").(*appsv1.Deployment)
	job := get("Job/riposte-setup").(*batchv1.Job)

	// The settings are docker-compose.yml's (same names, same meaning).
	c := loadCompose(t)
	for name := range c.Services["riposte-worker"].Environment {
		switch name {
		case "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "RIPOSTE_TASK_QUEUE", "RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_CONFIG", "RIPOSTE_POLICY", "RIPOSTE_LOG_FORMAT", "RIPOSTE_METRICS_ADDR", "RIPOSTE_PAYLOAD_COMPRESSION":
			if env.Data[name] == "" {
				t.Errorf("ConfigMap riposte-env lacks %s (compose sets it)", name)
			}
		}
	}
	if a := env.Data["TEMPORAL_ADDRESS"]; !strings.HasPrefix(a, "temporal-frontend.") {
		t.Errorf("TEMPORAL_ADDRESS %q is not the official Helm chart's frontend Service", a)
	}

	podChecks := func(what string, spec corev1.PodSpec) {
		sc := spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			t.Errorf("%s: must run as the image's non-root uid 65532", what)
		}
		for _, ctr := range spec.Containers {
			if ctr.Image != "riposte:local" && !strings.HasPrefix(ctr.Image, "riposte:") {
				t.Errorf("%s: image %q", what, ctr.Image)
			}
			csc := ctr.SecurityContext
			if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
				csc.Capabilities == nil || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("%s/%s: read-only root, no privilege escalation, every capability dropped", what, ctr.Name)
			}
			if len(ctr.EnvFrom) == 0 || ctr.EnvFrom[0].ConfigMapRef == nil || ctr.EnvFrom[0].ConfigMapRef.Name != env.Name {
				t.Errorf("%s/%s: does not take its settings from ConfigMap %s", what, ctr.Name, env.Name)
			}
			if ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: no CPU request or memory limit", what, ctr.Name)
			}
			ports := map[string]int32{}
			for _, p := range ctr.Ports {
				ports[p.Name] = p.ContainerPort
			}
			for _, pr := range []*corev1.Probe{ctr.ReadinessProbe, ctr.LivenessProbe} {
				if pr == nil || pr.HTTPGet == nil {
					if what != "Job/riposte-setup" {
						t.Errorf("%s/%s: no HTTP probe", what, ctr.Name)
					}
					continue
				}
				if _, ok := ports[pr.HTTPGet.Port.StrVal]; !ok {
					t.Errorf("%s/%s: probe on unknown port %q", what, ctr.Name, pr.HTTPGet.Port.String())
				}
			}
			mounts := map[string]bool{}
			for _, m := range ctr.VolumeMounts {
				mounts[m.Name] = true
				if !m.ReadOnly && m.Name != "tmp" && m.Name != "playbook-store" {
					t.Errorf("%s/%s: mount %s is writable", what, ctr.Name, m.Name)
				}
			}
			for _, v := range spec.Volumes {
				if !mounts[v.Name] {
					t.Errorf("%s: volume %s is not mounted", what, v.Name)
				}
			}
		}
	}
	for _, d := range []*appsv1.Deployment{worker, serve} {
		what := "Deployment/" + d.Name
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match the pod labels %v", what, d.Spec.Selector, d.Spec.Template.Labels)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("%s: fewer than 2 replicas", what)
		}
		podChecks(what, d.Spec.Template.Spec)
		// A PodDisruptionBudget covers it.
		pdb, ok := objs["PodDisruptionBudget/"+d.Name].(*policyv1.PodDisruptionBudget)
		if !ok {
			t.Errorf("%s: no PodDisruptionBudget", what)
			continue
		}
		ps, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !ps.Matches(labels.Set(d.Spec.Template.Labels)) || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
			t.Errorf("%s: PodDisruptionBudget does not keep one pod: %+v", what, pdb.Spec)
		}
	}
	podChecks("Job/riposte-setup", job.Spec.Template.Spec)
	if args := job.Spec.Template.Spec.Containers[0].Args; len(args) == 0 || args[0] != "setup" {
		t.Errorf("setup job runs %v", args)
	}
	// The worker is ready when it polls: /readyz on the metrics port.
	wc := worker.Spec.Template.Spec.Containers[0]
	if wc.Args[0] != "worker" || wc.ReadinessProbe == nil || wc.ReadinessProbe.HTTPGet.Path != "/readyz" || wc.ReadinessProbe.HTTPGet.Port.StrVal != "metrics" {
		t.Errorf("worker readiness %+v", wc.ReadinessProbe)
	}
	if fmt.Sprint(wc.Ports) == "" || env.Data["RIPOSTE_METRICS_ADDR"] != "0.0.0.0:9090" {
		t.Errorf("worker metrics port and RIPOSTE_METRICS_ADDR disagree")
	}
	// Serve and every worker share the playbook store: one ReadWriteMany
	// claim, mounted where RIPOSTE_PLAYBOOK_STORE says.
	pvc := get("PersistentVolumeClaim/riposte-playbook-store").(*corev1.PersistentVolumeClaim)
	if len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("the playbook store claim must be ReadWriteMany (serve and every worker replica): %v", pvc.Spec.AccessModes)
	}
	for _, d := range []*appsv1.Deployment{worker, serve} {
		spec := d.Spec.Template.Spec
		claim, mount, store := "", "", ""
		for _, v := range spec.Volumes {
			if v.Name == "playbook-store" && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
		for _, m := range spec.Containers[0].VolumeMounts {
			if m.Name == "playbook-store" && !m.ReadOnly {
				mount = m.MountPath
			}
		}
		for _, e := range spec.Containers[0].Env {
			if e.Name == "RIPOSTE_PLAYBOOK_STORE" {
				store = e.Value
			}
		}
		// The same playbooks as serve (the riposte-playbooks ConfigMap),
		// read-only where RIPOSTE_PLAYBOOKS says.
		pbMap, pbMount, pbEnv := "", "", ""
		for _, v := range spec.Volumes {
			if v.Name == "playbooks" && v.ConfigMap != nil {
				pbMap = v.ConfigMap.Name
			}
		}
		for _, m := range spec.Containers[0].VolumeMounts {
			if m.Name == "playbooks" && m.ReadOnly {
				pbMount = m.MountPath
			}
		}
		for _, e := range spec.Containers[0].Env {
			if e.Name == "RIPOSTE_PLAYBOOKS" {
				pbEnv = e.Value
			}
		}
		if pbMap != "riposte-playbooks" || pbMount == "" || pbEnv != pbMount {
			t.Errorf("Deployment/%s: playbooks ConfigMap %q mounted read-only at %q, RIPOSTE_PLAYBOOKS %q: want riposte-playbooks at the env's path", d.Name, pbMap, pbMount, pbEnv)
		}
		if claim != pvc.Name || mount == "" || store != mount {
			t.Errorf("Deployment/%s: playbook store claim %q mounted writable at %q, RIPOSTE_PLAYBOOK_STORE %q: want claim %s at the env's path", d.Name, claim, mount, store, pvc.Name)
		}
	}
	sc := serve.Spec.Template.Spec.Containers[0]
	if sc.Args[0] != "serve" {
		t.Errorf("serve runs %v", sc.Args)
	}
	svc := get("Service/riposte-serve").(*corev1.Service)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(serve.Spec.Template.Labels)) {
		t.Errorf("Service riposte-serve selects %v, pods have %v", svc.Spec.Selector, serve.Spec.Template.Labels)
	}
}
