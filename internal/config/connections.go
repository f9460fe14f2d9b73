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
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// MaxConfigBytes bounds riposte.yaml.
const MaxConfigBytes = 1 << 20

// Severity tells an error (Riposte refuses to start) from a warning.
type Severity = yamlx.Severity

// Severities.
const (
	SeverityError   = yamlx.SeverityError
	SeverityWarning = yamlx.SeverityWarning
)

// Diagnostic is one problem found in riposte.yaml, with its position (the
// one diagnostic type of every YAML decoder, see internal/yamlx).
type Diagnostic = yamlx.Diagnostic

// Diagnostics is a list of problems; as an error it prints one per line.
type Diagnostics = yamlx.Diagnostics

// ConnectionsOptions lets tests replace the environment and file system.
type ConnectionsOptions struct {
	LookupEnv func(string) (string, bool)       // default os.LookupEnv
	Stat      func(string) (fs.FileInfo, error) // default os.Stat
	// RequireConnections makes a file without a connections: key an
	// error (riposte connections check: nothing to check is a mistake,
	// most often a misspelt key).
	RequireConnections bool
	// Unresolved checks each secret reference's shape only: its env var
	// and its file are not looked up (riposte validate: a CI runner has
	// the project, not the deployment's secrets; the worker, riposte
	// connections check and doctor look them up). A name or path that
	// reads like a secret pasted there is still refused, unprinted.
	Unresolved bool
}

// LoadConnections reads the connections of a riposte.yaml. err is non-nil
// when the file cannot be read or has errors (then it is the Diagnostics
// of error severity, one per line); warnings come back in diags either way.
func LoadConnections(path string) (map[string]activities.Connection, Diagnostics, error) {
	return LoadConnectionsWith(path, ConnectionsOptions{})
}

// LoadConnectionsWith is LoadConnections with options (LookupEnv and Stat
// default to the process's when nil).
func LoadConnectionsWith(path string, opts ConnectionsOptions) (map[string]activities.Connection, Diagnostics, error) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reading connections: %w", err)
	}
	conns, diags := ParseConnections(path, src, opts)
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
	p := &connParser{Reporter: &yamlx.Reporter{File: file, Src: src}, file: file, opts: opts, conns: map[string]activities.Connection{}}
	p.parse(src)
	p.maskSnippets()
	return p.conns, p.Diags.Sort()
}

type connParser struct {
	*yamlx.Reporter
	file  string
	opts  ConnectionsOptions
	conns map[string]activities.Connection
	// hidden maps a source line to the column from which its snippets
	// show "***": where a value that may be a secret starts (see hide).
	hidden map[int]int
	// srcLines are the lines of the source, for hideAll.
	srcLines []string
}

func (p *connParser) errorf(n *yaml.Node, format string, args ...any) { p.Errorf(n, format, args...) }

func (p *connParser) warnf(n *yaml.Node, format string, args ...any) { p.Warnf(n, format, args...) }

func deref(n *yaml.Node) *yaml.Node { return yamlx.Resolve(n) }

func kindName(n *yaml.Node) string { return yamlx.KindName(n) }

func didYouMean(got string, candidates []string) string { return yamlx.DidYouMean(got, candidates) }

var topLevelKeys = []string{"connections", "detections"}

func (p *connParser) parse(src []byte) {
	root, ok := yamlx.Decode(p.Reporter, src, yamlx.Options{MaxBytes: MaxConfigBytes,
		SecondDocument: "riposte.yaml holds one YAML document; found a second"})
	if !ok {
		return
	}
	if root == nil || yamlx.IsNull(deref(root)) {
		// An empty file configures nothing.
		if p.opts.RequireConnections {
			p.errorf(nil, "%s has no connections: key (it is empty): no connections to check", p.file)
		}
		return
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "riposte.yaml must be a mapping with a connections: key, got %s", kindName(root))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q (first on line %d)", k.Value, prev.Line)
			p.hideAll(v)
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "connections":
			p.connections(v)
		case "detections":
			// Read by ParseDetections (the finding view's settings);
			// checked here too, so that every reader reports its problems.
			cfg := finding.DefaultConfig()
			p.detections(v, &cfg)
		default:
			// Other sections belong to other parts of Riposte; a typo of
			// ours is worth a warning, not a refusal to start.
			p.warnf(k, "unknown top-level key %q%s", k.Value, didYouMean(k.Value, topLevelKeys))
		}
	}
	if _, ok := seen["connections"]; !ok && p.opts.RequireConnections {
		// Point at the key that looks like a misspelling, if any.
		var near *yaml.Node
		for i := 0; i < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Value != "detections" && didYouMean(k.Value, []string{"connections"}) != "" {
				near = k
				break
			}
		}
		if near != nil {
			p.errorf(near, "%s has no connections: key (is %q a misspelling of connections?): no connections to check", p.file, near.Value)
		} else {
			p.errorf(root, "%s has no connections: key: no connections to check", p.file)
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
			p.hideAll(v)
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
			p.hideAll(v)
			continue
		}
		keys[k.Value], fields[k.Value] = k, v
		order = append(order, k.Value)
	}
	// Without a known type nothing tells a secret field from another:
	// hide every value but the type's until the type is known.
	hideOthers := func() {
		for k, v := range fields {
			if k != "type" {
				p.hideAll(v)
			}
		}
	}
	typNode, ok := fields["type"]
	if !ok {
		hideOthers()
		p.errorf(key, "connection %s needs a type (one of %s)", name, strings.Join(typeNames(), ", "))
		return activities.Connection{}, false
	}
	if typNode.Kind != yaml.ScalarNode || typNode.Tag == "!!null" {
		p.errorf(typNode, "connection %s: type must be a string, got %s", name, kindName(typNode))
		hideOthers()
		return activities.Connection{}, false
	}
	typ, ok := activities.LookupConnectionType(typNode.Value)
	if !ok {
		p.errorf(typNode, "connection %s: unknown type %q%s (known: %s)", name, typNode.Value, didYouMean(typNode.Value, typeNames()), strings.Join(typeNames(), ", "))
		hideOthers()
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
			p.hideAll(v)
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
		if ok && s != "" && f.Check != nil {
			if err := f.Check(s); err != nil {
				p.errorf(v, "connection %s: %v", name, err)
				ok = false
			}
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
			if !p.opts.Unresolved { // else the value is not checked further
				p.errorf(v, "connection %s: %s: env var %s is not set", conn, key, name)
			}
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
		// url's errors quote the part they refuse, which may be a
		// secret (a password where the port goes): name the key only.
		p.errorf(v, "connection %s: %s is not a URL (%s)", conn, key, urlErrorKind(err))
		return "", false
	case u.User != nil:
		p.errorf(v, "connection %s: %s must not carry credentials; use the connection's secret fields", conn, key)
		return "", false
	case u.Scheme != "https" && u.Scheme != "http":
		p.errorf(v, "connection %s: %s %q must be an http(s) URL", conn, key, shownURL(u))
		return "", false
	case u.Host == "":
		p.errorf(v, "connection %s: %s %q has no host", conn, key, shownURL(u))
		return "", false
	case u.RawQuery != "" || u.Fragment != "":
		p.errorf(v, "connection %s: %s %q must not have a query or fragment", conn, key, shownURL(u))
		return "", false
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		p.warnf(v, "connection %s: %s uses plain http; credentials would cross the network unencrypted", conn, key)
	}
	return strings.TrimRight(s, "/"), true
}

// shownURL is u as a diagnostic may print it: the value may come from an
// env var (${VAR}) and carry a secret in its userinfo, query (a webhook's
// ?code=) or fragment, so those are replaced by "…".
func shownURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.ForceQuery = false
	c.RawQuery, c.Fragment, c.RawFragment = "", "", ""
	out := c.String()
	if u.User != nil {
		out = strings.Replace(out, "//", "//…@", 1)
	}
	if u.RawQuery != "" || u.ForceQuery {
		out += "?…"
	}
	if u.Fragment != "" {
		out += "#…"
	}
	return out
}

// urlErrorKind is what url.Parse refused, without the refused text.
func urlErrorKind(err error) string {
	msg := errors.Unwrap(err)
	if msg == nil {
		return "unparsable"
	}
	s := msg.Error()
	if i := strings.IndexAny(s, "\"\\"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
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
		p.hideAll(v)
		return activities.SecretRef{}, false
	}
	var ref activities.SecretRef
	var refNode *yaml.Node
	ok := true
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if k.Value != "env" && k.Value != "file" {
			p.errorf(k, "connection %s: %s: unknown key %q in a secret reference%s (want env or file)", conn, key, k.Value, didYouMean(k.Value, []string{"env", "file"}))
			p.hideAll(val)
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
			// Not quoted, and hidden from the snippet: what was refused is
			// often the secret itself, pasted where its var's name belongs
			// (a token holds '-', '.', '/' or '=': never a valid name).
			p.errorf(refNode, "connection %s: %s: env is not a valid env var name (letters, digits and _, not starting with a digit); if it holds the secret itself, put the secret in an env var and write {env: THAT_VAR}", conn, key)
			p.hideAll(refNode)
			return activities.SecretRef{}, false
		}
		val, set := p.opts.LookupEnv(ref.Env)
		// A valid name may still be the secret itself (a CrowdStrike
		// client secret, a hex API key): one that reads like a secret
		// (connector.EnvLooksLikeSecret) is neither printed nor shown in
		// the snippet of its line.
		named, hint := "env var "+ref.Env, ""
		if connector.EnvLooksLikeSecret(ref.Env) {
			named = "the env var named here (not shown: it looks like a secret, not a name)"
			hint = "; if that is the secret itself, put it in an env var and write {env: THAT_VAR}"
		}
		if p.opts.Unresolved {
			// Not looked up; a name that reads like a secret is refused
			// still: the worker finds no such var, and it is in the file.
			// One set where validate runs is a name (the worker takes it
			// there too): setting it is how an odd real name gets through.
			if hint != "" && !set {
				hint += "; if it really is the name of an env var, set it where riposte validate runs"
				p.errorf(refNode, "connection %s: %s: %s%s", conn, key, named, hint)
				p.hideAll(refNode)
				return activities.SecretRef{}, false
			}
			return ref, true
		}
		switch {
		case !set:
			p.errorf(refNode, "connection %s: %s: %s is not set%s", conn, key, named, hint)
			if hint != "" {
				p.hideAll(refNode)
			}
			return activities.SecretRef{}, false
		case strings.TrimSpace(val) == "":
			p.errorf(refNode, "connection %s: %s: %s is empty", conn, key, named)
			return activities.SecretRef{}, false
		}
		return ref, true
	}
	path := ref.File
	// A value that reads like a secret pasted where its path belongs
	// (client_secret: {file: sk_live_…}) is neither printed nor shown in
	// the snippet of its line; the rule is connector.FileLooksLikeSecret,
	// applied to the value as written and as resolved.
	written := connector.FileLooksLikeSecret(path)
	pasted := written
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
		ref.File = path
	}
	pasted = pasted || connector.FileLooksLikeSecret(path)
	named := "file " + path
	hint := ""
	if pasted {
		named = "the file named here (not shown: it looks like a secret, not a path)"
		hint = "; if that is the secret itself, put it in a file (mode 0400) and write {file: /run/secrets/NAME}, or in an env var and write {env: NAME}"
	}
	if p.opts.Unresolved {
		// Not looked up; a path written that reads like a secret is
		// refused still: the worker finds no such file, and it is in
		// the file. What is written, not the path resolved: the config
		// file's directory (a project named SecOpsPlaybooks2024) is no
		// secret pasted here; it only keeps the path unprinted.
		if _, err := p.opts.Stat(path); written && err != nil {
			// A file that exists there is a path, whatever its name.
			hint += "; if it really is a file's path, validate where that file exists"
			p.errorf(refNode, "connection %s: %s: %s%s", conn, key, named, hint)
			p.hideAll(refNode)
			return activities.SecretRef{}, false
		}
		return ref, true
	}
	fi, err := p.opts.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.errorf(refNode, "connection %s: %s: %s does not exist%s", conn, key, named, hint)
		if pasted {
			p.hideAll(refNode)
		}
		return activities.SecretRef{}, false
	case err != nil:
		p.errorf(refNode, "connection %s: %s: %s: %v%s", conn, key, named, errors.Unwrap(err), hint)
		if pasted {
			p.hideAll(refNode)
		}
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

// hideAll marks every scalar value under n as possibly a secret (a
// secret written in the file, the value of an unknown key: a misspelt
// secret field "clent_secret: …", a key given twice, the fields of a
// connection whose type is unknown): every diagnostic's snippet of its line
// shows the line up to the value, then "***" (see maskSnippets).
func (p *connParser) hideAll(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		line, col := yamlx.Pos(n)
		if line < 1 || col < 1 {
			return
		}
		if p.hidden == nil {
			p.hidden = map[int]int{}
		}
		if c, ok := p.hidden[line]; !ok || col < c {
			p.hidden[line] = col
		}
		// A value written over several lines (in flow style another key
		// may follow it on its last line): the later lines are hidden
		// whole.
		if p.srcLines == nil {
			p.srcLines = strings.SplitAfter(string(p.Reporter.Src), "\n")
		}
		for l := line + 1; l <= scalarLastLine(p.srcLines, n, line, col); l++ {
			p.hidden[l] = 1
		}
		return
	}
	for _, c := range n.Content {
		p.hideAll(c)
	}
}

// scalarLastLine is the line of lines where the quoted or plain scalar n,
// which starts at line:col, ends: line when it is on one line or cannot be
// followed (a block scalar holds its lines alone).
func scalarLastLine(lines []string, n *yaml.Node, line, col int) int {
	if line < 1 || line > len(lines) {
		return line
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := '"'
		if n.Style == yaml.SingleQuotedStyle {
			q = '\''
		}
		if k, _, ok := quoteEnd(lines, line, col, q); ok {
			return k
		}
		return line
	case 0:
		// A plain scalar: each line break folds into a space (blank
		// lines into line feeds); follow the value over the lines.
		rest := n.Value
		t := lineRunes(lines, line)
		seg := strings.TrimSpace(string(t[min(col-1, len(t)):]))
		for k := line; ; {
			if strings.HasPrefix(seg, rest) {
				return k
			}
			if !strings.HasPrefix(rest, seg) {
				return line // not followed: the value is not what we think
			}
			rest = strings.TrimLeft(rest[len(seg):], " \n")
			if k++; k > len(lines) {
				return line
			}
			seg = strings.TrimSpace(string(lineRunes(lines, k)))
		}
	}
	return line
}

// maskSnippets rewrites the snippet of every diagnostic whose line holds a
// hidden value: the line up to the first hidden value, then "***"; the
// caret stays where it was, or at the hidden value when it pointed past
// its start.
func (p *connParser) maskSnippets() {
	lines := strings.SplitAfter(string(p.Reporter.Src), "\n")
	for i := range p.Reporter.Diags {
		d := &p.Reporter.Diags[i]
		if d.Snippet == "" {
			continue
		}
		if d.Line > len(lines) {
			d.Snippet = ""
			continue
		}
		if strings.HasPrefix(d.Message, "YAML syntax:") {
			// A syntax error placed at its character on a later line of
			// a secret written over several lines (a quoted string, a
			// block scalar) is on a line that names no secret field:
			// place it at the start of that secret's value, hidden.
			if l, c, ok := secretHolding(lines, d.Line, d.Col); ok {
				d.Line, d.Col = l, c
			}
		}
		text := lineRunes(lines, d.Line)
		col, ok := p.hidden[d.Line]
		// A line that writes a secret field (even one YAML could not
		// parse: a syntax error has no node to hide) shows no value.
		if c, found := secretFieldValueCol(string(text)); found && (!ok || c < col) {
			col, ok = c, true
		}
		if !ok {
			continue
		}
		if d.Col > col && strings.HasPrefix(d.Message, "YAML syntax:") {
			// A YAML syntax error is placed at its character: inside a
			// secret that would tell where (an escape, a byte that is
			// not UTF-8) in it; point at the value instead.
			d.Col = col
		}
		if col-1 > len(text) {
			d.Snippet = ""
			continue
		}
		d.Snippet = yamlx.Snippet([]byte(string(text[:col-1])+"***"), 1, d.Col)
	}
}

// lineRunes is line n (1-based) of lines without its line end, in
// characters as yaml.v3 counts columns (a byte order mark is none).
func lineRunes(lines []string, n int) []rune {
	text := []rune(strings.TrimRight(lines[n-1], "\r\n"))
	if n == 1 && len(text) > 0 && text[0] == '\uFEFF' {
		text = text[1:] // yaml.v3 reads a byte order mark as no column
	}
	return text
}

// secretHolding finds the secret field whose value, written over several
// lines, holds line:col of lines (a line that does not write the field
// itself): its line and the column its value starts at. A quoted value
// holds everything up to its closing quote; a block scalar or a plain
// value the lines after it indented more than its key (blank lines too).
func secretHolding(lines []string, line, col int) (int, int, bool) {
	if line < 2 || line > len(lines) {
		return 0, 0, false
	}
	if c, found := secretFieldValueCol(string(lineRunes(lines, line))); found && c <= col {
		return 0, 0, false
	}
	indent := func(t []rune) int {
		n := 0
		for n < len(t) && t[n] == ' ' {
			n++
		}
		return n
	}
	for l := line - 1; l >= 1; l-- {
		text := lineRunes(lines, l)
		vc, found := secretFieldValueCol(string(text))
		if !found {
			continue
		}
		value := text[min(vc-1, len(text)):]
		if len(value) > 0 && (value[0] == '"' || value[0] == '\'') {
			if quotedThrough(lines, l, vc, value[0], line, col) {
				return l, vc, true
			}
			continue
		}
		// A tab in a line's indentation (a key pasted from a tab-indented
		// editor) is what YAML refuses there, so such a line is the
		// secret's too, unless the value is a flow collection ({env: …}),
		// which a line after it cannot continue.
		// Nor can a block mapping's ({env: …} written over lines, its
		// value empty on the field's line): the tab-indented line is then
		// the next key, and its error stays on it.
		flow := len(value) > 0 && (value[0] == '{' || value[0] == '[')
		block := strings.TrimSpace(string(value)) == "" || strings.HasPrefix(strings.TrimSpace(string(value)), "#")
		in := true
		for k := l + 1; k <= line && in; k++ {
			t := lineRunes(lines, k)
			if block && k < line && blockKeyRe.MatchString(string(t)) {
				flow = true
			}
			in = strings.TrimSpace(string(t)) == "" || indent(t) > indent(text) || !flow && tabIndented(t)
		}
		if in {
			return l, vc, true
		}
	}
	return 0, 0, false
}

// blockKeyRe is a line of a block mapping's entry (env: NAME), indented
// with spaces.
var blockKeyRe = regexp.MustCompile(`^ +["']?[A-Za-z0-9_]+["']?[ \t]*:(?:[ \t]|$)`)

// tabIndented reports whether the indentation of t holds a tab.
func tabIndented(t []rune) bool {
	for _, r := range t {
		switch r {
		case '\t':
			return true
		case ' ':
		default:
			return false
		}
	}
	return false
}

// quotedThrough reports whether the string quoted by q that starts at
// line l, column vc of lines is still open at line:col.
func quotedThrough(lines []string, l, vc int, q rune, line, col int) bool {
	k, i, ok := quoteEnd(lines, l, vc, q)
	return !ok || k > line || (k == line && i+1 >= col)
}

// quoteEnd finds the quote by q that closes the string whose text starts
// at line l, index i (0-based: the character after the opening quote),
// skipping escapes (a backslash in double quotes, a doubled quote in
// single ones): its line and index, or false when the string is not
// closed in lines.
func quoteEnd(lines []string, l, i int, q rune) (int, int, bool) {
	for k := l; k <= len(lines); k++ {
		t := lineRunes(lines, k)
		if k > l {
			i = 0
		}
		for ; i < len(t); i++ {
			switch {
			case q == '"' && t[i] == '\\':
				i++
			case q == '\'' && t[i] == '\'' && i+1 < len(t) && t[i+1] == '\'':
				i++
			case t[i] == q:
				return k, i, true
			}
		}
	}
	return 0, 0, false
}

// secretKeyRe matches a key anywhere on a line (block style at its start,
// flow style after "{" or ",", quoted or not) and the colon after it: m[1]
// is the key.
var secretKeyRe = regexp.MustCompile(`(?:^|[\s{,\[-])["']?([A-Za-z0-9_]+)["']?\s*:[ \t]?`)

// secretFieldValueCol is the column (1-based, in characters) where the
// value of the first secret field the line writes starts: a connection in
// flow style writes its secret after other keys ("jira: {type: jira,
// api_token: …}").
func secretFieldValueCol(line string) (int, bool) {
	secret := secretFields()
	for _, m := range secretKeyRe.FindAllStringSubmatchIndex(line, -1) {
		if secret[line[m[2]:m[3]]] {
			return utf8.RuneCountInString(line[:m[1]]) + 1, true
		}
	}
	return 0, false
}

// secretFields is the set of the secret field names of every connection
// type.
func secretFields() map[string]bool {
	out := map[string]bool{}
	for _, t := range activities.ConnectionTypes() {
		for _, f := range t.Fields {
			if f.Secret {
				out[f.Name] = true
			}
		}
	}
	return out
}
