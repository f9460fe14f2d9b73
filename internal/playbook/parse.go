package playbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// MaxFileBytes bounds a playbook file, so a hostile file cannot exhaust memory.
const MaxFileBytes = 1 << 20

// pos is where a value sits in the YAML source.
type pos struct {
	Line, Col int
	Style     yaml.Style
	Value     string // a scalar's decoded value
	// EmptyString is a scalar written as an empty string ("", '', a
	// block of blank lines): not null, not a mapping or a list.
	EmptyString bool
}

// positions maps paths such as "steps[1].if" to YAML positions.
type positions map[string]pos

type parser struct {
	r   *yamlx.Reporter
	f   *format
	pos positions
	// stored: a version already kept in a playbook store (LoadStored).
	stored bool
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.r.Errorf(n, format, args...)
}

func (p *parser) mark(path string, n *yaml.Node) {
	p.pos[path] = pos{Line: n.Line, Col: n.Column, Style: n.Style, Value: n.Value,
		EmptyString: n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == ""}
}

// keyPath is the positions entry of the key of the value at path (an
// unknown param is reported at its key, a wrong value at the value).
func keyPath(path string) string { return "key:" + path }

// Digest is the sha256 of a playbook's source, recorded with every run.
func Digest(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:])
}

// Parse reads one playbook from YAML source. It reports every structural
// problem it finds (syntax, unknown keys, missing fields, wrong types); the
// semantic checks are Validate's. file names the source in diagnostics.
// The size and alias-expansion budgets are yamlx's.
func Parse(file string, src []byte) (*Playbook, Diagnostics) {
	return parse(file, src, false)
}

func parse(file string, src []byte, stored bool) (*Playbook, Diagnostics) {
	p := &parser{r: &yamlx.Reporter{File: file, Src: src}, f: newFormat(), pos: positions{}, stored: stored}
	root, ok := yamlx.Decode(p.r, src, yamlx.Options{MaxBytes: MaxFileBytes,
		SecondDocument: "a file holds one playbook; found a second YAML document"})
	if !ok {
		return nil, p.r.Diags
	}
	if root == nil {
		p.errorf(nil, "file is empty; expected a playbook (apiVersion: %s)", APIVersion)
		return nil, p.r.Diags
	}
	// Positions are those of the source as Decode read it (a lone CR
	// as a line end).
	pb := &Playbook{File: file, src: p.r.Src, stored: stored}
	p.playbook(root, pb)
	pb.pos = p.pos
	return pb, p.r.Diags
}

// resolve follows aliases so anchors work.
func resolve(n *yaml.Node) *yaml.Node { return yamlx.Resolve(n) }

func kindName(n *yaml.Node) string { return yamlx.KindName(n) }

// fields checks a mapping against obj and returns its values by key.
func (p *parser) fields(n *yaml.Node, obj *object, path string) map[string]*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, got %s", label(path, obj.name), kindName(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be strings", label(path, obj.name))
			continue
		}
		if k.Tag == "!!merge" {
			// As in `with` (yamlx.Mapping): not an unknown key with a
			// did-you-mean, but a YAML feature Riposte does not take.
			p.errorf(k, "%s: merge keys (<<) are not supported; write the keys out (an alias of a whole mapping works)", label(path, obj.name))
			continue
		}
		if f, dup := first[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q (first on line %d)", label(path, obj.name), k.Value, f.Line)
			continue
		}
		first[k.Value] = k
		f, ok := obj.field(k.Value)
		if !ok {
			p.errorf(k, "%s: unknown key %q%s", label(path, obj.name), k.Value, didYouMean(k.Value, obj.names()))
			continue
		}
		out[k.Value] = v
		p.mark(join(path, k.Value), v)
		p.checkKind(v, f, join(path, k.Value))
	}
	for _, f := range obj.fields {
		if _, ok := out[f.name]; !ok && f.required {
			p.errorf(n, "%s: missing required key %q", label(path, obj.name), f.name)
		}
	}
	return out
}

func label(path, name string) string {
	if path == "" {
		return name
	}
	return path
}

func join(path, key string) string { return yamlx.Join(path, key) }

// checkKind reports a value of the wrong YAML kind for its field, and
// checks enums, patterns and minimums of scalars.
func (p *parser) checkKind(v *yaml.Node, f field, path string) {
	want := ""
	switch f.kind {
	case kString, kDuration, kExprBool:
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			want = "a string"
		}
		if f.kind == kString && f.pattern != "" && v.Tag == "!!bool" && !p.stored {
			// An identifier (name, id): `name: true` is YAML's bool, a
			// slip the schema refuses too, not the name "true". A
			// stored version keeps loading (LoadStored): releases
			// before 2026-12-06 took it as the text.
			want = "a string"
		}
		if f.kind == kExprBool && v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
			want = "" // `if: true` is a fine expression
		}
	case kInt:
		if v.Kind != yaml.ScalarNode || !isInteger(v) {
			want = "an integer"
		}
	case kBool:
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
			want = "true or false"
		}
	case kNumber:
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
			want = "a number"
		}
	case kExprMap, kAnyMap, kObject:
		if v.Kind != yaml.MappingNode {
			want = "a mapping"
		}
	case kStringList, kStepList:
		if v.Kind != yaml.SequenceNode {
			want = "a list"
		}
	case kForEach:
		if v.Kind != yaml.SequenceNode && (v.Kind != yaml.ScalarNode || v.Tag != "!!str") {
			want = "a list or a ${{ expr }} string"
		}
	case kApproval:
		if v.Kind != yaml.MappingNode && !(v.Kind == yaml.ScalarNode && v.Value == "auto") {
			want = `a mapping or "auto"`
		}
	}
	if want != "" {
		p.errorf(v, "%s must be %s, got %s", path, want, kindName(v))
		return
	}
	if v.Kind != yaml.ScalarNode {
		return
	}
	if f.required && f.kind == kString && len(f.enum) == 0 && f.pattern == "" && strings.TrimSpace(v.Value) == "" {
		// Written but empty is as missing (action: "").
		p.errorf(v, "%s must not be empty", path)
		return
	}
	if len(f.enum) == 1 && v.Value != f.enum[0] {
		p.errorf(v, "%s must be %s, got %q", path, f.enum[0], v.Value)
	} else if len(f.enum) > 0 && !contains(f.enum, v.Value) {
		p.errorf(v, "%s: %q is not one of %s%s", path, v.Value, strings.Join(f.enum, ", "), didYouMean(v.Value, f.enum))
	}
	if f.pattern != "" && !patterns[f.pattern].re.MatchString(v.Value) {
		p.errorf(v, "%s: %q must be %s%s", path, v.Value, patterns[f.pattern].what, yamlx.NonASCII(v, p.r.Src))
	}
	if f.kind == kInt && (f.min > 0 || f.max > 0) {
		n, err := int64Value(v)
		switch {
		case err != nil && f.max > 0:
			p.errorf(v, "%s must be between %d and %d, got %s", path, f.min, f.max, v.Value)
		case err != nil:
			p.errorf(v, "%s must be at least %d and fit in 64 bits, got %s", path, f.min, v.Value)
		case n < int64(f.min):
			p.errorf(v, "%s must be at least %d, got %s", path, f.min, v.Value)
		case f.max > 0 && n > int64(f.max) && !p.stored:
			// A stored version keeps the value it ran with (LoadStored):
			// releases before 2026-12-05 had no upper bounds.
			p.errorf(v, "%s must be at most %d, got %s", path, f.max, v.Value)
		}
	}
	if f.kind == kDuration {
		if _, err := parseDuration(v.Value, !p.stored); err != nil {
			if s := strings.TrimSpace(v.Value); f.name == "contain_for" && isZeroDuration(s) {
				err = zeroHold(s) // as an extension of zero says
			}
			p.errorf(v, "%s: %v", path, err)
		}
	}
}

func contains(list []string, s string) bool { return yamlx.Contains(list, s) }

func (p *parser) playbook(n *yaml.Node, pb *Playbook) {
	fs := p.fields(n, p.f.playbook, "")
	if fs == nil {
		return
	}
	pb.APIVersion = str(fs["apiVersion"])
	pb.Name = str(fs["name"])
	pb.Version = integer(fs["version"])
	pb.Description = str(fs["description"])
	pb.Owner = str(fs["owner"])
	pb.Mode = str(fs["mode"])
	pb.OnWithdraw = str(fs["on_withdraw"])
	if t := fs["trigger"]; t != nil && t.Kind == yaml.MappingNode {
		tf := p.fields(t, p.f.trigger, "trigger")
		pb.Trigger.When = exprString(tf["when"])
	}
	if v := fs["vars"]; v != nil && v.Kind == yaml.MappingNode {
		for _, kv := range p.exprMap(v, "vars") {
			pb.Vars = append(pb.Vars, Var{Name: kv[0], Expr: kv[1]})
		}
	}
	if o := fs["outputs"]; o != nil && o.Kind == yaml.MappingNode {
		for _, kv := range p.exprMap(o, "outputs") {
			pb.Outputs = append(pb.Outputs, Output{Name: kv[0], Expr: kv[1]})
		}
	}
	if s := fs["steps"]; s != nil && s.Kind == yaml.SequenceNode {
		if len(s.Content) == 0 {
			p.errorf(s, "steps: a playbook needs at least one step")
		}
		for i, sn := range s.Content {
			path := fmt.Sprintf("steps[%d]", i)
			p.mark(path, resolve(sn))
			pb.Steps = append(pb.Steps, p.step(sn, path))
		}
	}
}

var identRe = regexp.MustCompile(identPattern)

// patterns holds the compiled field patterns, each with words for messages.
var patterns = map[string]struct {
	re   *regexp.Regexp
	what string
}{
	namePattern:   {regexp.MustCompile(namePattern), "lowercase letters, digits and dashes, starting and ending with a letter or digit"},
	stepIDPattern: {regexp.MustCompile(stepIDPattern), "lowercase letters, digits and _, starting with a letter"},
}

// exprMap reads an ordered name: expr mapping.
func (p *parser) exprMap(n *yaml.Node, path string) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		kp := path + "." + k.Value
		switch {
		case !identRe.MatchString(k.Value):
			p.errorf(k, "%s: name %q must be an identifier (letters, digits, _)%s", path, k.Value, yamlx.NonASCII(k, p.r.Src))
			continue
		case seen[k.Value]:
			p.errorf(k, "%s: duplicate name %q", path, k.Value)
			continue
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			p.errorf(v, "%s must be an expression string, got %s", kp, kindName(v))
			continue
		}
		seen[k.Value] = true
		p.mark(kp, v)
		out = append(out, [2]string{k.Value, exprString(v)})
	}
	return out
}

func (p *parser) step(n *yaml.Node, path string) Step {
	var st Step
	fs := p.fields(n, p.f.step, path)
	if fs == nil {
		return st
	}
	st.ID = str(fs["id"])
	st.Name = str(fs["name"])
	st.Action = str(fs["action"])
	st.If = exprString(fs["if"])
	st.OnFailure = str(fs["on_failure"])
	st.Always = boolean(fs["always"])
	st.Concurrency = integer(fs["concurrency"])
	st.Timeout = p.duration(fs["timeout"])
	st.ContainFor = p.duration(fs["contain_for"])
	st.Needs = p.stringList(fs["needs"], path+".needs")
	if w := fs["with"]; w != nil && w.Kind == yaml.MappingNode {
		// The rules of every mapping nested in it (yamlx.Mapping): string
		// keys, once each, no merge key.
		es, _ := p.r.Mapping(w, path+".with")
		st.With = make(map[string]any, len(es))
		for _, e := range es {
			kp := path + ".with." + e.Key.Value
			p.mark(kp, e.Value)
			p.mark(keyPath(kp), e.Key)
			st.With[e.Key.Value] = p.value(e.Value, kp)
		}
	}
	if fe := fs["for_each"]; fe != nil {
		st.ForEach = p.value(fe, path+".for_each")
	}
	if r := fs["retry"]; r != nil && r.Kind == yaml.MappingNode {
		rf := p.fields(r, p.f.retry, path+".retry")
		st.Retry = &Retry{
			MaxAttempts:     integer(rf["max_attempts"]),
			InitialInterval: p.duration(rf["initial_interval"]),
			MaxInterval:     p.duration(rf["max_interval"]),
		}
		if b := rf["backoff"]; b != nil {
			st.Retry.Backoff, _ = strconv.ParseFloat(b.Value, 64)
			if st.Retry.Backoff < 1 && (b.Tag == "!!int" || b.Tag == "!!float") {
				p.errorf(b, "%s.retry.backoff must be at least 1, got %s", path, b.Value)
			}
		}
	}
	if a := fs["approval"]; a != nil {
		if a.Kind == yaml.ScalarNode && a.Value == "auto" {
			st.Approval = &Approval{Auto: true}
		} else if a.Kind == yaml.MappingNode {
			st.Approval = p.approval(a, path+".approval")
		}
	}
	return st
}

func (p *parser) approval(n *yaml.Node, path string) *Approval {
	fs := p.fields(n, p.f.approval, path)
	a := &Approval{
		If:        exprString(fs["if"]),
		Quorum:    integer(fs["quorum"]),
		Timeout:   p.duration(fs["timeout"]),
		OnTimeout: str(fs["on_timeout"]),
		Reason:    str(fs["reason"]),
		Channel:   str(fs["channel"]),
	}
	if ap := fs["approvers"]; ap != nil && ap.Kind == yaml.MappingNode {
		af := p.fields(ap, p.f.approvers, path+".approvers")
		a.Approvers.Users = p.slackIDs(af["users"], path+".approvers.users", false)
		a.Approvers.Groups = p.slackIDs(af["groups"], path+".approvers.groups", true)
	}
	if e := fs["escalate_to"]; e != nil && e.Kind == yaml.MappingNode {
		ef := p.fields(e, p.f.escalation, path+".escalate_to")
		a.EscalateTo = &Escalation{
			Users:   p.slackIDs(ef["users"], path+".escalate_to.users", false),
			Groups:  p.slackIDs(ef["groups"], path+".escalate_to.groups", true),
			Timeout: p.duration(ef["timeout"]),
			Quorum:  integer(ef["quorum"]),
		}
	}
	return a
}

func (p *parser) stringList(n *yaml.Node, path string) []string {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for i, e := range n.Content {
		e = resolve(e)
		ep := fmt.Sprintf("%s[%d]", path, i)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			p.errorf(e, "%s must be a string, got %s", ep, kindName(e))
			continue
		}
		p.mark(ep, e)
		out = append(out, e.Value)
	}
	return out
}

// slackIDs reads a list of approvers: Slack user ids (U… or W…), or Slack
// user group ids (S…) when groups is set, each listed once. A gate compares
// its approvers with the Slack user id of whoever decides (a Slack click,
// a token bound to a Slack user id), so an email, a name or a handle could
// never decide it; and a person listed twice counts once, so a quorum
// counting the list could never be met. Either way the gate would follow
// on_timeout instead of the people the playbook names.
func (p *parser) slackIDs(n *yaml.Node, path string, groups bool) []string {
	out := p.stringList(n, path)
	if n == nil || n.Kind != yaml.SequenceNode || p.stored {
		// A stored version keeps the approvers it was started with
		// (LoadStored): releases before this check accepted them.
		return out
	}
	field := path[strings.LastIndex(path, ".")+1:] // users or groups
	seen := map[string]int{}
	for i, e := range n.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			continue // stringList said so
		}
		ep := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case groups && !identity.IsSlackGroupID(e.Value):
			p.errorf(e, "%s: %q is not a Slack user group id (S…)%s", ep, e.Value, yamlx.NonASCII(e, p.r.Src))
		case !groups && !identity.IsSlackUserID(e.Value):
			p.errorf(e, "%s: %q is not a Slack user id (U… or W…)%s", ep, e.Value, yamlx.NonASCII(e, p.r.Src))
		default:
			id := strings.ToUpper(e.Value)
			if j, dup := seen[id]; dup {
				p.errorf(e, "%s: %q is already listed (%s[%d])", ep, e.Value, field, j)
				continue
			}
			seen[id] = i
		}
	}
	return out
}

// value turns a YAML node into plain Go data (maps, lists, scalars) by
// yamlx's rules (yamlx.Value: string keys once each, finite numbers,
// timestamps as written), recording the position of every nested value.
func (p *parser) value(n *yaml.Node, path string) any {
	n = resolve(n)
	if n == nil {
		return nil
	}
	p.mark(path, n)
	switch n.Kind {
	case yaml.MappingNode:
		es, _ := p.r.Mapping(n, path)
		m := make(map[string]any, len(es))
		for _, e := range es {
			m[e.Key.Value] = p.value(e.Value, path+"."+e.Key.Value)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, e := range n.Content {
			l[i] = p.value(e, fmt.Sprintf("%s[%d]", path, i))
		}
		return l
	}
	v, _ := p.r.Value(n, path)
	return v
}

func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// exprString reads an expression; `if: true` arrives as a bool scalar.
func exprString(n *yaml.Node) string { return str(n) }

func integer(n *yaml.Node) int {
	if n == nil || !isInteger(n) {
		return 0
	}
	v, err := int64Value(n)
	if err != nil || v != int64(int(v)) {
		return 0
	}
	return int(v)
}

// isInteger: an !!int scalar, or an !!float one with no fraction
// (`version: 2.0`), which JSON Schema's integer accepts too (draft 6 on),
// as editors and CI checking against docs/playbook.schema.json do.
func isInteger(n *yaml.Node) bool {
	switch n.Tag {
	case "!!int":
		return true
	case "!!float":
		var f float64
		return n.Decode(&f) == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

// int64Value reads an !!int scalar as YAML reads it (1_000, 0x10, 0o17 and
// 017 alike), so the bounds checked are those of the value used; a whole
// !!float (2.0, 1e3) is its integer when it fits in 64 bits.
func int64Value(n *yaml.Node) (int64, error) {
	if n.Tag == "!!float" {
		var f float64
		if err := n.Decode(&f); err != nil {
			return 0, err
		}
		if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
			return 0, fmt.Errorf("%s is not a 64-bit integer", n.Value)
		}
		return int64(f), nil
	}
	var v int64
	err := n.Decode(&v)
	return v, err
}

func boolean(n *yaml.Node) bool {
	if n == nil || n.Tag != "!!bool" {
		return false
	}
	b, _ := strconv.ParseBool(n.Value)
	return b
}

func (p *parser) duration(n *yaml.Node) Duration {
	if n == nil {
		return 0
	}
	d, _ := parseDuration(str(n), !p.stored)
	return d
}

// valuePos maps a position inside a scalar's decoded value (1-based line and
// rune column, as conditions.Error reports it) to the YAML source. It walks
// the value and the source side by side, skipping what decoding removed:
// quotes, escapes, line folds and block indentation. ok is false when the two
// cannot be aligned (e.g. a tagged scalar); callers then use the value's start.
func valuePos(src []byte, p pos, line, col int) (int, int, bool) {
	value := []rune(p.Value)
	// The rune offset of (line, col) in the value.
	target, vl, vc := -1, 1, 1
	for i, r := range value {
		if vl == line && vc == col {
			target = i
			break
		}
		if r == '\n' {
			vl, vc = vl+1, 1
		} else {
			vc++
		}
	}
	if target < 0 {
		if vl != line || vc != col {
			return 0, 0, false
		}
		target = len(value)
	}
	// yaml.v3 reads a byte order mark as no column.
	lines := strings.Split(strings.TrimPrefix(string(src), "\ufeff"), "\n")
	if p.Line < 1 || p.Line > len(lines) {
		return 0, 0, false
	}
	double := p.Style&yaml.DoubleQuotedStyle != 0
	single := p.Style&yaml.SingleQuotedStyle != 0
	block := p.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	l := p.Line - 1 // 0-based source line
	var cur []rune
	setLine := func(i int) { l, cur = i, []rune(strings.TrimSuffix(lines[i], "\r")) }
	// The node's position is that of its properties when it has any (an
	// anchor &a, a tag !!str, in either order, maybe on lines of their
	// own): the scalar itself starts after them.
	setLine(l)
	c := p.Col - 1
	for c < len(cur) && (cur[c] == '&' || cur[c] == '!') {
		for c < len(cur) && cur[c] != ' ' && cur[c] != '\t' {
			c++
		}
		for {
			for c < len(cur) && (cur[c] == ' ' || cur[c] == '\t') {
				c++
			}
			if c < len(cur) && cur[c] != '#' {
				break
			}
			if l+1 >= len(lines) { // only properties and comments: give up
				return 0, 0, false
			}
			setLine(l + 1)
			c = 0
		}
	}
	indent := 0
	// skipIndent moves past a line's indentation: all of it in flow scalars,
	// the block's indentation in block scalars.
	skipIndent := func() int {
		c := 0
		for c < len(cur) && (cur[c] == ' ' || (!block && cur[c] == '\t')) && (!block || c < indent) {
			c++
		}
		return c
	}
	if block {
		// The header (| or >, then chomping and indentation indicators)
		// is on line l at c. With an explicit indentation indicator the
		// first line may start with spaces that are content; the walk
		// below takes any indentation between the block's and the first
		// line's, since it matches spaces the value holds and skips
		// those it does not.
		indent = -1
		for i := l + 1; i < len(lines); i++ {
			t := strings.TrimSuffix(lines[i], "\r")
			if strings.TrimLeft(t, " ") != "" {
				indent = len(t) - len(strings.TrimLeft(t, " "))
				break
			}
		}
		if indent < 0 || l+1 >= len(lines) {
			return 0, 0, false
		}
		setLine(l + 1)
		c = skipIndent()
	} else {
		if double || single {
			if c >= len(cur) || (cur[c] != '"' && cur[c] != '\'') {
				return 0, 0, false
			}
			c++
		}
	}
	nextLine := func() bool {
		if l+1 >= len(lines) {
			return false
		}
		setLine(l + 1)
		c = skipIndent()
		return true
	}
	for i := 0; i < target; {
		r := value[i]
		if c >= len(cur) { // a line break in the source
			if !nextLine() {
				return 0, 0, false
			}
			if r == '\n' || r == ' ' {
				i++ // the newline, or the space a fold made of it
			}
			continue
		}
		s := cur[c]
		switch {
		case double && s == '\\':
			if c+1 >= len(cur) { // escaped line break: the lines join
				if !nextLine() {
					return 0, 0, false
				}
				for c < len(cur) && (cur[c] == ' ' || cur[c] == '\t') {
					c++
				}
				continue
			}
			switch cur[c+1] {
			case 'x':
				c += 4
			case 'u':
				c += 6
			case 'U':
				c += 10
			default:
				c += 2
			}
			i++
		case single && s == '\'' && r == '\'' && c+1 < len(cur) && cur[c+1] == '\'':
			c += 2
			i++
		case s == r:
			c++
			i++
		case s == ' ' || s == '\t':
			c++ // whitespace a fold removed
		case r == ' ' || r == '\n':
			i++ // a space or newline a fold made
		default:
			return 0, 0, false
		}
	}
	// Land on the target character itself, not on the whitespace before it.
	if target < len(value) && value[target] != ' ' && value[target] != '\n' {
		for n := 0; n < 1000; n++ {
			if c >= len(cur) {
				if !nextLine() {
					break
				}
				continue
			}
			if cur[c] != ' ' && cur[c] != '\t' {
				break
			}
			c++
		}
	}
	return l + 1, c + 1, true
}
