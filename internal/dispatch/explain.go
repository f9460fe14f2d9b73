package dispatch

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
)

// Explanation says, for one detection, what the finding view holds and,
// for each playbook, whether its trigger held and which part decided. It
// starts nothing (riposte submit --explain, POST /v1/detections?explain=true).
type Explanation struct {
	Index       int                   `json:"index"`
	DetectionID string                `json:"detection_id"`
	Finding     map[string]any        `json:"finding"`
	Warnings    []intake.FieldError   `json:"warnings,omitempty"`
	Playbooks   []PlaybookExplanation `json:"playbooks"`
}

// PlaybookExplanation is one playbook's trigger on the detection.
type PlaybookExplanation struct {
	Playbook string `json:"playbook"`
	When     string `json:"when"`
	Held     bool   `json:"held"`
	// Decided names the sub-expression that decided: for a false chain of
	// &&, the first false part; for a true chain of ||, the first true one.
	Decided string `json:"decided"`
	Error   string `json:"error,omitempty"`
}

// Explain evaluates every playbook's trigger on the detection.
func (d *Dispatcher) Explain(idx int, det intake.Detection) Explanation {
	view, notes := finding.BuildNoting(det, d.Finding)
	out := Explanation{Index: idx, DetectionID: det.UID(), Finding: view, Warnings: intake.Warnings(idx, det, notes), Playbooks: []PlaybookExplanation{}}
	set := d.set.Load()
	if set == nil {
		return out
	}
	env := map[string]any{"detection": map[string]any(det), "finding": view}
	state, _ := view["state"].(string)
	for _, c := range set.Playbooks {
		pe := PlaybookExplanation{Playbook: c.Playbook.Name, When: c.Playbook.Trigger.When}
		switch {
		case state != finding.StateActive:
			r, _ := view["state_reason"].(string)
			pe.Decided = fmt.Sprintf("finding.state is %q (%s): no playbook starts", state, r)
		case c.When == nil:
			pe.Held, pe.Decided = true, "the playbook has no trigger.when"
		default:
			src := strings.TrimSpace(c.Playbook.Trigger.When)
			held, why, err := explainExpr(src, env)
			// The verdict is the trigger's own, as the dispatcher takes
			// it; the parts only say why. Should they disagree, the
			// whole decided.
			real, rerr := c.When.EvalBool(env)
			switch {
			case rerr != nil:
				held, err = false, rerr
				if why == "" {
					why = "`" + oneLine(src) + "` fails"
				}
			case err != nil || held != real:
				held, why, err = real, fmt.Sprintf("`%s` is %v", oneLine(src), real), nil
			}
			pe.Held, pe.Decided = held, why
			if err != nil {
				pe.Error = err.Error()
			}
		}
		out.Playbooks = append(out.Playbooks, pe)
	}
	return out
}

// lineBreak is a line break of a trigger written over several lines, with
// the indentation around it.
var lineBreak = regexp.MustCompile(`[ \t]*\r?\n[ \t]*`)

// oneLine quotes an expression on one line: each line break (and its
// indentation) reads as one space, so the CLI, which escapes line breaks
// in what it prints, shows the playbook's expression as written.
func oneLine(src string) string { return lineBreak.ReplaceAllString(src, " ") }

// explainExpr evaluates src and names the part that decided. It splits at
// the top level on || (then &&), outside brackets and string literals, and
// descends into the deciding part.
func explainExpr(src string, env map[string]any) (bool, string, error) {
	src = stripParens(src)
	if hasTopTernary(src) {
		// cond ? a : b binds looser than || and &&: the parts of its
		// condition do not decide.
		return evalPart(src, env)
	}
	if parts := splitTop(src, "||", "or"); len(parts) > 1 {
		for _, p := range parts {
			held, why, err := explainExpr(p, env)
			if err != nil {
				return false, why, err
			}
			if held {
				return true, why, nil
			}
		}
		return false, fmt.Sprintf("`%s` is false (none of its %d alternatives holds)", oneLine(src), len(parts)), nil
	}
	if parts := splitTop(src, "&&", "and"); len(parts) > 1 {
		for _, p := range parts {
			held, why, err := explainExpr(p, env)
			if err != nil || !held {
				return false, why, err
			}
		}
		return true, fmt.Sprintf("all %d conditions hold", len(parts)), nil
	}
	return evalPart(src, env)
}

// evalPart evaluates one part of a trigger as a whole.
func evalPart(src string, env map[string]any) (bool, string, error) {
	prog, err := conditions.Compile(src, conditions.ScopeTrigger, false)
	if err != nil {
		return false, "`" + oneLine(src) + "` does not compile", err
	}
	v, err := prog.Eval(env)
	if err != nil {
		return false, "`" + oneLine(src) + "` fails", err
	}
	held, _ := v.(bool)
	return held, fmt.Sprintf("`%s` is %v", oneLine(src), held), nil
}

// stripParens removes parentheses that enclose the whole expression.
func stripParens(s string) string {
	for {
		s = strings.TrimSpace(s)
		if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
			return s
		}
		if close := matching(s, 0); close != len(s)-1 {
			return s
		}
		s = s[1 : len(s)-1]
	}
}

// hasTopTernary reports a ? of cond ? a : b at bracket depth 0 (not ??,
// not ?.).
func hasTopTernary(s string) bool {
	var l lexer
	for i := 0; i < len(s); {
		next, top := l.read(s, i)
		if top && s[i] == '?' {
			if i+1 < len(s) && (s[i+1] == '?' || s[i+1] == '.') {
				next = i + 2
			} else {
				return true
			}
		}
		i = next
	}
	return false
}

// lexer reads an expression byte by byte, tracking string literals (with
// backslash escapes), comments and bracket depth.
type lexer struct {
	quote byte
	depth int
}

// read reads the byte at i and returns the index of the next one (an
// escape inside a literal reads two) and whether s[i] is code at bracket
// depth 0: outside literals and comments, and not a quote or a bracket.
// A comment (// to the end of the line, /* to */) reads whole, as no code:
// an "or" or a quote in one is neither an operator nor a literal.
func (l *lexer) read(s string, i int) (int, bool) {
	c := s[i]
	switch {
	case l.quote != 0:
		if c == '\\' {
			return i + 2, false
		}
		if c == l.quote {
			l.quote = 0
		}
	case strings.HasPrefix(s[i:], "//"):
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			return i + j, false
		}
		return len(s), false
	case strings.HasPrefix(s[i:], "/*"):
		if j := strings.Index(s[i+2:], "*/"); j >= 0 {
			return i + 2 + j + 2, false
		}
		return len(s), false
	case c == '"' || c == '\'' || c == '`':
		l.quote = c
	case c == '(' || c == '[' || c == '{':
		l.depth++
	case c == ')' || c == ']' || c == '}':
		l.depth--
	default:
		return i + 1, l.depth == 0
	}
	return i + 1, false
}

// matching returns the index of the bracket closing the one at open.
func matching(s string, open int) int {
	var l lexer
	for i := open; i < len(s); {
		next, _ := l.read(s, i)
		if l.quote == 0 && l.depth == 0 && strings.IndexByte(")]}", s[i]) >= 0 {
			return i
		}
		i = next
	}
	return -1
}

// splitTop splits s on op (or the keyword word) at bracket depth 0,
// outside string literals.
func splitTop(s, op, word string) []string {
	var parts []string
	var l lexer
	start := 0
	for i := 0; i < len(s); {
		next, top := l.read(s, i)
		switch {
		case top && strings.HasPrefix(s[i:], op):
			next = i + len(op)
		case top && strings.HasPrefix(s[i:], word) && boundary(s, i-1) && boundary(s, i+len(word)):
			next = i + len(word)
		default:
			i = next
			continue
		}
		parts = append(parts, strings.TrimSpace(s[start:i]))
		i, start = next, next
	}
	parts = append(parts, strings.TrimSpace(s[start:]))
	return parts
}

func boundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	return !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
}
