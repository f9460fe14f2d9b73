package config

// Vendor connections from riposte.yaml:
//
//	connections:
//	  crowdstrike:
//	    type: crowdstrike
//	    base_url: https://api.us-2.crowdstrike.com
//	    client_id: ${CS_CLIENT_ID}             # ${VAR} interpolated at load
//	    client_secret: {env: CS_CLIENT_SECRET} # secret ref: {env: NAME} or {file: PATH}
//
// The loader checks everything at start and reports every problem with its
// file:line:col. Secret values are never read here: only whether the env
// var is set or the file exists. Handlers resolve them at call time.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/safefile"
)

// MaxConfigBytes bounds riposte.yaml.
const MaxConfigBytes = 1 << 20

// Severity tells an error (Riposte refuses to start) from a warning.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in riposte.yaml, with its position.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (d Diagnostic) String() string {
	if d.Severity == SeverityWarning {
		return fmt.Sprintf("%s:%d:%d: warning: %s", d.File, d.Line, d.Col, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
}

// Diagnostics is a list of problems; as an error it prints one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics of error severity.
func (ds Diagnostics) Errors() Diagnostics { return ds.only(SeverityError) }

// Warnings returns the diagnostics of warning severity.
func (ds Diagnostics) Warnings() Diagnostics { return ds.only(SeverityWarning) }

func (ds Diagnostics) only(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the errors (not the warnings) as an error, or nil.
func (ds Diagnostics) Err() error {
	if errs := ds.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

// ConnectionsOptions lets tests replace the environment and file system.
type ConnectionsOptions struct {
	LookupEnv func(string) (string, bool)       // default os.LookupEnv
	Stat      func(string) (fs.FileInfo, error) // default os.Stat
}

// LoadConnections reads the connections of a riposte.yaml. err is non-nil
// when the file cannot be read or has errors (then it is the Diagnostics
// of error severity, one per line); warnings come back in diags either way.
func LoadConnections(path string) (map[string]activities.Connection, Diagnostics, error) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reading connections: %w", err)
	}
	conns, diags := ParseConnections(path, src, ConnectionsOptions{})
	if err := diags.Err(); err != nil {
		return nil, diags, err
	}
	return conns, diags, nil
}

// ParseConnections checks riposte.yaml source and returns its connections.
// file names the source in diagnostics and anchors relative secret files.
// The connections are returned even when there are errors, for tools.
func ParseConnections(file string, src []byte, opts ConnectionsOptions) (map[string]activities.Connection, Diagnostics) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Stat == nil {
		opts.Stat = os.Stat
	}
	p := &connParser{file: file, opts: opts, conns: map[string]activities.Connection{}}
	p.parse(src)
	sortDiags(p.diags)
	return p.conns, p.diags
}

type connParser struct {
	file  string
	opts  ConnectionsOptions
	diags Diagnostics
	conns map[string]activities.Connection
}

func (p *connParser) add(sev Severity, n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: line, Col: col, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (p *connParser) errorf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityError, n, format, args...)
}

func (p *connParser) warnf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityWarning, n, format, args...)
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *connParser) yamlError(err error) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.diags = append(p.diags, Diagnostic{File: p.file, Line: line, Col: 1, Severity: SeverityError, Message: "YAML syntax: " + m[2]})
		return
	}
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: 1, Col: 1, Severity: SeverityError, Message: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a scalar"
	}
	return "something else"
}

var topLevelKeys = []string{"connections", "detections"}

func (p *connParser) parse(src []byte) {
	if len(src) > MaxConfigBytes {
		p.errorf(nil, "file is %d bytes; the limit is %d", len(src), MaxConfigBytes)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return // an empty file configures nothing
		}
		p.yamlError(err)
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "riposte.yaml holds one YAML document; found a second")
	} else if err.Error() != "EOF" {
		p.yamlError(err)
	}
	if len(doc.Content) == 0 {
		return
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "riposte.yaml must be a mapping with a connections: key, got %s", kindName(root))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q (first on line %d)", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "connections":
			p.connections(v)
		case "detections":
			// Read by ParseDetections (the finding view's settings).
		default:
			// Other sections belong to other parts of Riposte; a typo of
			// ours is worth a warning, not a refusal to start.
			p.warnf(k, "unknown top-level key %q%s", k.Value, didYouMean(k.Value, topLevelKeys))
		}
	}
}

var connNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (p *connParser) connections(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "connections must be a mapping of connection names to settings, got %s", kindName(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := k.Value
		if prev, dup := seen[name]; dup {
			p.errorf(k, "connection %q is defined twice (first on line %d)", name, prev.Line)
			continue
		}
		seen[name] = k
		if !connNameRe.MatchString(name) {
			p.errorf(k, "connection name %q must be lowercase letters, digits, dashes and underscores (at most 63)", name)
		}
		if c, ok := p.connection(name, k, v); ok {
			p.conns[name] = c
		}
	}
}

func (p *connParser) connection(name string, key, n *yaml.Node) (activities.Connection, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "connection %s must be a mapping (type:, base_url:, credentials), got %s", name, kindName(n))
		return activities.Connection{}, false
	}
	fields := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if prev, dup := keys[k.Value]; dup {
			p.errorf(k, "connection %s: duplicate key %q (first on line %d)", name, k.Value, prev.Line)
			continue
		}
		keys[k.Value], fields[k.Value] = k, v
		order = append(order, k.Value)
	}
	typNode, ok := fields["type"]
	if !ok {
		p.errorf(key, "connection %s needs a type (one of %s)", name, strings.Join(typeNames(), ", "))
		return activities.Connection{}, false
	}
	if typNode.Kind != yaml.ScalarNode || typNode.Tag == "!!null" {
		p.errorf(typNode, "connection %s: type must be a string, got %s", name, kindName(typNode))
		return activities.Connection{}, false
	}
	typ, ok := activities.LookupConnectionType(typNode.Value)
	if !ok {
		p.errorf(typNode, "connection %s: unknown type %q%s (known: %s)", name, typNode.Value, didYouMean(typNode.Value, typeNames()), strings.Join(typeNames(), ", "))
		return activities.Connection{}, false
	}
	c := activities.Connection{Type: typ.Name, Options: map[string]string{}, Secrets: map[string]activities.SecretRef{}}
	valid := true

	known := []string{"type", "base_url"}
	for _, f := range typ.Fields {
		known = append(known, f.Name)
	}
	for _, k := range order {
		if k == "type" {
			continue
		}
		v := fields[k]
		if k == "base_url" {
			u, ok := p.urlValue(name, k, v)
			valid = valid && ok
			c.BaseURL = u
			continue
		}
		f, ok := typ.Field(k)
		if !ok {
			p.errorf(keys[k], "connection %s: unknown key %q for type %s%s", name, k, typ.Name, didYouMean(k, known))
			valid = false
			continue
		}
		if f.Secret {
			ref, ok := p.secretRef(name, k, v)
			valid = valid && ok
			if ok {
				c.Secrets[k] = ref
			}
			continue
		}
		var s string
		if f.URL {
			s, ok = p.urlValue(name, k, v)
		} else {
			s, ok = p.stringValue(name, k, v)
		}
		valid = valid && ok
		if ok && s != "" {
			c.Options[k] = s
		}
	}
	if _, ok := fields["base_url"]; !ok && typ.DefaultBaseURL == "" && !typ.BaseURLOptional {
		p.errorf(key, "connection %s (type %s) needs base_url", name, typ.Name)
		valid = false
	}
	for _, f := range typ.Fields {
		if !f.Required {
			continue
		}
		if _, ok := fields[f.Name]; ok {
			continue
		}
		if f.RequiredUnless != "" {
			if _, ok := fields[f.RequiredUnless]; ok {
				continue
			}
		}
		hint := ""
		if f.Example != "" {
			hint = fmt.Sprintf(", e.g. %s: %s", f.Name, f.Example)
		}
		unless := ""
		if f.RequiredUnless != "" {
			unless = " (or " + f.RequiredUnless + ")"
		}
		p.errorf(key, "connection %s (type %s) needs %s%s%s", name, typ.Name, f.Name, unless, hint)
		valid = false
	}
	return c, valid
}

func typeNames() []string {
	var names []string
	for _, t := range activities.ConnectionTypes() {
		names = append(names, t.Name)
	}
	return names
}

// stringValue reads a plain setting, interpolating ${VAR}.
func (p *connParser) stringValue(conn, key string, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode {
		if v.Kind == yaml.MappingNode && (hasKey(v, "env") || hasKey(v, "file")) {
			p.errorf(v, "connection %s: %s is not a secret; give it as a string (${VAR} reads an env var)", conn, key)
		} else {
			p.errorf(v, "connection %s: %s must be a string, got %s", conn, key, kindName(v))
		}
		return "", false
	}
	if v.Tag == "!!null" {
		p.errorf(v, "connection %s: %s is empty", conn, key)
		return "", false
	}
	return p.interpolate(conn, key, v)
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// interpolate replaces ${VAR} with the env var's value; $$ is a literal $.
func (p *connParser) interpolate(conn, key string, v *yaml.Node) (string, bool) {
	s := v.Value
	var b strings.Builder
	ok := true
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			p.errorf(v, "connection %s: %s: unterminated ${ (write $$ for a literal $)", conn, key)
			return "", false
		}
		name := s[i+2 : i+end]
		if !envNameRe.MatchString(name) {
			p.errorf(v, "connection %s: %s: ${%s} is not a valid env var name", conn, key, name)
			ok = false
		} else if val, set := p.opts.LookupEnv(name); !set {
			p.errorf(v, "connection %s: %s: env var %s is not set", conn, key, name)
			ok = false
		} else {
			b.WriteString(val)
		}
		i += end
	}
	return strings.TrimSpace(b.String()), ok
}

func (p *connParser) urlValue(conn, key string, v *yaml.Node) (string, bool) {
	s, ok := p.stringValue(conn, key, v)
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		p.errorf(v, "connection %s: %s %q is not a URL: %v", conn, key, s, errors.Unwrap(err))
		return "", false
	case u.Scheme != "https" && u.Scheme != "http":
		p.errorf(v, "connection %s: %s %q must be an http(s) URL", conn, key, s)
		return "", false
	case u.Host == "":
		p.errorf(v, "connection %s: %s %q has no host", conn, key, s)
		return "", false
	case u.User != nil:
		p.errorf(v, "connection %s: %s must not carry credentials; use the connection's secret fields", conn, key)
		return "", false
	case u.RawQuery != "" || u.Fragment != "":
		p.errorf(v, "connection %s: %s %q must not have a query or fragment", conn, key, s)
		return "", false
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		p.warnf(v, "connection %s: %s uses plain http; credentials would cross the network unencrypted", conn, key)
	}
	return strings.TrimRight(s, "/"), true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// secretRef reads {env: NAME} or {file: PATH} and checks it can resolve,
// without reading the value.
func (p *connParser) secretRef(conn, key string, v *yaml.Node) (activities.SecretRef, bool) {
	if v.Kind != yaml.MappingNode {
		hint := "{env: NAME} or {file: /run/secrets/name}"
		if v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, "${") && strings.HasSuffix(v.Value, "}") && envNameRe.MatchString(v.Value[2:len(v.Value)-1]) {
			hint = fmt.Sprintf("{env: %s}", v.Value[2:len(v.Value)-1])
		}
		p.errorf(v, "connection %s: %s is a secret: write %s, never the value itself", conn, key, hint)
		return activities.SecretRef{}, false
	}
	var ref activities.SecretRef
	var refNode *yaml.Node
	ok := true
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if k.Value != "env" && k.Value != "file" {
			p.errorf(k, "connection %s: %s: unknown key %q in a secret reference%s (want env or file)", conn, key, k.Value, didYouMean(k.Value, []string{"env", "file"}))
			ok = false
			continue
		}
		if refNode != nil {
			p.errorf(k, "connection %s: %s: give env or file, not both", conn, key)
			ok = false
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" || strings.TrimSpace(val.Value) == "" {
			p.errorf(val, "connection %s: %s: %s must be a non-empty string", conn, key, k.Value)
			ok = false
			continue
		}
		refNode = val
		if k.Value == "env" {
			ref.Env = strings.TrimSpace(val.Value)
		} else {
			ref.File = strings.TrimSpace(val.Value)
		}
	}
	if refNode == nil {
		if ok {
			p.errorf(v, "connection %s: %s: a secret reference needs env or file", conn, key)
		}
		return activities.SecretRef{}, false
	}
	if !ok {
		return activities.SecretRef{}, false
	}
	if ref.Env != "" {
		if !envNameRe.MatchString(ref.Env) {
			p.errorf(refNode, "connection %s: %s: %q is not a valid env var name", conn, key, ref.Env)
			return activities.SecretRef{}, false
		}
		val, set := p.opts.LookupEnv(ref.Env)
		switch {
		case !set:
			p.errorf(refNode, "connection %s: %s: env var %s is not set", conn, key, ref.Env)
			return activities.SecretRef{}, false
		case strings.TrimSpace(val) == "":
			p.errorf(refNode, "connection %s: %s: env var %s is empty", conn, key, ref.Env)
			return activities.SecretRef{}, false
		}
		return ref, true
	}
	path := ref.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
		ref.File = path
	}
	fi, err := p.opts.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.errorf(refNode, "connection %s: %s: file %s does not exist", conn, key, path)
		return activities.SecretRef{}, false
	case err != nil:
		p.errorf(refNode, "connection %s: %s: file %s: %v", conn, key, path, errors.Unwrap(err))
		return activities.SecretRef{}, false
	case fi.IsDir():
		p.errorf(refNode, "connection %s: %s: %s is a directory", conn, key, path)
		return activities.SecretRef{}, false
	case fi.Size() == 0:
		p.errorf(refNode, "connection %s: %s: file %s is empty", conn, key, path)
		return activities.SecretRef{}, false
	case fi.Mode().Perm()&0o077 != 0:
		// The one secret-file convention (deploy/README.md, init-secrets.sh).
		p.warnf(refNode, "connection %s: %s: file %s is readable by group or others (mode %04o): make it mode 0400 and owned by the user Riposte runs as (uid 65532 in the container image), e.g. chown 65532:65532 %s && chmod 0400 %s; see deploy/README.md, Secret files", conn, key, path, fi.Mode().Perm(), path, path)
	}
	return ref, true
}

func sortDiags(ds Diagnostics) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// didYouMean suggests the closest candidate, if one is close enough.
func didYouMean(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(got), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(got)/3)
	if best == "" || bestD > limit || best == got {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		return 1 << 20
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
