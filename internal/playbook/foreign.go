package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/yamlx"
)

// SiteOther is the kind of a file under the playbook paths that holds
// another tool's YAML (Foreign): a Kubernetes manifest, a Compose file, a
// GitHub Actions workflow, Temporal's dynamic config, ... at the top of a
// project walked as riposte validate . or riposte dev --playbooks . do.
const SiteOther = "other"

// Classify tells what a file that is not a valid playbook holds: a site
// file (SiteKind: SitePolicy, SiteConfig), another tool's YAML (Foreign:
// SiteOther, and what says whose), or a playbook ("", to be reported as
// the broken one it is). Callers ask it only of a file that failed to
// parse as a playbook, so a valid playbook is decoded once.
func Classify(path string, src []byte) (kind, what string) {
	if k := SiteKind(path, src); k != "" {
		return k, ""
	}
	if what := Foreign(src); what != "" {
		return SiteOther, what
	}
	return "", ""
}

// composeKeys are the top-level elements of a Compose file (Compose
// Specification: version and name, services, networks, volumes,
// configs, secrets, include, models), besides x- extensions.
var composeKeys = []string{"version", "name", "services", "networks", "volumes", "configs", "secrets", "include", "models"}

// actionsKeys are the top-level keys of a GitHub Actions workflow.
var actionsKeys = []string{"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}

// Foreign says whose YAML src holds when it clearly is not a playbook,
// else "". Safety first: a playbook, broken ones too, must never be
// skipped, so src is another tool's only when it decodes (every document
// of it), nothing in it has an apiVersion that reads riposte (misspelt
// too: ripost/v1, riposte/v2, riposte.dev/v1; at any depth) nor a
// trigger with steps, and each of its documents is a mapping that is one
// of:
//
//   - a Kubernetes-style object: an apiVersion (a string, not riposte's)
//     and a kind, and no other key of a playbook;
//   - a Compose file: services, and only Compose's top-level keys;
//   - a GitHub Actions workflow: on and jobs, and only its keys;
//   - keys none of which is, or is a misspelling of, a key of a
//     playbook (Prometheus, Temporal's dynamic config, ...).
//
// Empty files, lists, scalars, broken YAML and aliases expanding over
// yamlx's budget are playbooks (reported).
func Foreign(src []byte) string {
	if len(src) > yamlx.DefaultMaxBytes {
		return ""
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var whats []string
	docs := 0
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "" // broken YAML: a playbook's errors say where
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue // an empty document (a trailing ---)
		}
		root := doc.Content[0]
		if n, _ := yamlx.Expanded(root, yamlx.DefaultMaxNodes); n > yamlx.DefaultMaxNodes {
			return "" // a "billion laughs" file: Parse refuses it by name
		}
		if riposteMarked(root, 0) {
			return ""
		}
		what := foreignDoc(root)
		if what == "" {
			return ""
		}
		docs++
		if !slices.Contains(whats, what) {
			whats = append(whats, what)
		}
	}
	switch docs {
	case 0:
		return ""
	case 1:
		return whats[0]
	}
	return fmt.Sprintf("%d documents: %s", docs, strings.Join(whats, ", "))
}

// foreignDoc says whose one document is (Foreign), or "".
func foreignDoc(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return ""
	}
	keys := map[string]*yaml.Node{}
	var names []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return ""
		}
		keys[k.Value] = n.Content[i+1]
		names = append(names, k.Value)
	}
	pbKeys := newFormat().playbook.names()
	only := func(allowed []string, ext bool) bool {
		for _, k := range names {
			if !slices.Contains(allowed, k) && !(ext && strings.HasPrefix(k, "x-")) {
				return false
			}
		}
		return true
	}
	api, kind := keys["apiVersion"], keys["kind"]
	switch {
	case api != nil:
		if api.Kind != yaml.ScalarNode || api.Tag != "!!str" || api.Value == "" || riposteLike(api.Value) ||
			kind == nil || kind.Kind != yaml.ScalarNode || kind.Tag != "!!str" || kind.Value == "" {
			return ""
		}
		for _, k := range names {
			if k != "apiVersion" && slices.Contains(pbKeys, k) {
				return ""
			}
		}
		return fmt.Sprintf("%s (%s)", printable(kind.Value), printable(api.Value))
	case keys["services"] != nil && only(composeKeys, true):
		return "a Compose file"
	case keys["on"] != nil && keys["jobs"] != nil && only(actionsKeys, false):
		return "a GitHub Actions workflow"
	}
	for _, k := range names {
		for _, p := range pbKeys {
			if nearKey(k, p) {
				return ""
			}
		}
	}
	shown := names
	if len(shown) > 3 {
		shown = shown[:3]
	}
	for i, k := range shown {
		shown[i] = printable(k)
	}
	more := ""
	if len(names) > 3 {
		more = ", …"
	}
	return "no key of a playbook (" + strings.Join(shown, ", ") + more + ")"
}

// riposteMarked reports whether a mapping in n, at any depth, has an
// apiVersion (its key misspelt too) that reads riposte, or a trigger
// and steps: a playbook, maybe nested by mistake. Aliases are not
// followed (their anchors are in the tree), so the walk is as long as
// the file.
func riposteMarked(n *yaml.Node, depth int) bool {
	if n == nil || depth > 100 {
		return depth > 100 // too deep to tell: not skipped
	}
	if n.Kind == yaml.MappingNode {
		var trigger, steps bool
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if nearKey(k.Value, "apiVersion") && v.Kind == yaml.ScalarNode && riposteLike(v.Value) {
				return true
			}
			trigger = trigger || k.Value == "trigger"
			steps = steps || k.Value == "steps"
		}
		if trigger && steps {
			return true
		}
	}
	for _, c := range n.Content {
		if riposteMarked(c, depth+1) {
			return true
		}
	}
	return false
}

// riposteLike reports whether an apiVersion names riposte's group, or a
// misspelling of it: riposte/v1, riposte/v2, ripost/v1, riposte.dev/v1.
func riposteLike(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	group, _, _ := strings.Cut(v, "/")
	return strings.Contains(v, "ripost") || yamlx.EditDistance(group, "riposte") <= 2
}

// nearKey reports whether key is want or a misspelling of it: the same
// letters whatever their case, _ and -, or one edit away (two for a
// name of five letters or more; a swap of two letters is one).
func nearKey(key, want string) bool {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '_' || r == '-' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	k, w := norm(key), norm(want)
	max := 1
	if len([]rune(w)) >= 5 {
		max = 2
	}
	return yamlx.EditDistance(k, w) <= max
}

// printable is s for one line of output: control and format characters
// dropped, at most 40 characters.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return s
}
