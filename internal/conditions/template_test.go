package conditions

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func render(t *testing.T, s string) (any, error) {
	t.Helper()
	tmpl, err := CompileTemplate(s, ScopeStep)
	if err != nil {
		t.Fatalf("CompileTemplate(%q): %v", s, err)
	}
	return tmpl.Render(testEnv())
}

func TestRenderTemplate(t *testing.T) {
	tests := []struct {
		tmpl string
		want any
	}{
		// Exactly one placeholder keeps the value's type.
		{`${{ detection.finding_info.attacks | map(.technique.uid) }}`, []any{"T1071", "T1003"}},
		{`${{ [1, 2, 3] }}`, []any{1, 2, 3}},
		{`${{ 40 + 2 }}`, 42},
		{`${{ detection.severity_id }}`, float64(4)},
		{`${{ detection.device }}`, detection()["device"]},
		{`${{ {"a": 1} }}`, map[string]any{"a": 1}},
		{`${{ detection.severity_id >= 4 }}`, true},
		{`${{ detection.missing?.x }}`, nil},
		{`${{item.hostname}}`, "web1"},
		// Anything around the placeholder makes it a string.
		{` ${{ 40 + 2 }}`, " 42"},
		{`${{ 40 + 2 }} `, "42 "},
		{`n=${{ 40 + 2 }}`, "n=42"},
		{`f=${{ 1.5 }} g=${{ 2.0 }} h=${{ detection.confidence_score }}`, "f=1.5 g=2 h=84"},
		{`b=${{ true }}/${{ 1 > 2 }}`, "b=true/false"},
		{`nil=[${{ nil }}] missing=[${{ detection.missing?.x }}]`, "nil=[] missing=[]"},
		{`map=${{ {"b": 2, "a": [1, "x"]} }}`, `map={"a":[1,"x"],"b":2}`},
		{`list=${{ ["a", 1, nil] }}`, `list=["a",1,null]`},
		{`host ${{ vars.host }} (${{ detection.device.ip }}) sev ${{ detection.severity_id }}`, "host eng-lt-117 (10.20.31.17) sev 4"},
		{`${{ "a" }}${{ "b" }}`, "ab"},
		{`#${{ index }} of ${{ item.hostname }}`, "#2 of web1"},
		{"line1\n${{ vars.host }}\n", "line1\neng-lt-117\n"},
		{`no placeholders`, "no placeholders"},
		{``, ""},
		{`}} and { {`, "}} and { {"},
		{`${{ "a" + "b" }}`, "ab"},
		{`${{ date("2024-01-02") }}`, mustDate(t, "2024-01-02")},
		// A }} inside a string literal or closing a map literal belongs to
		// the expression.
		{`${{ "}}" }}`, "}}"},
		{`x=${{ 'a}}b' + "c\"}}" + ` + "`}}`" + ` }}!`, `x=a}}bc"}}}}!`},
		{`${{ {"a": {"b": 1}} }}`, map[string]any{"a": map[string]any{"b": 1}}},
		{`${{ {"a": {"b": 1}}}}`, map[string]any{"a": map[string]any{"b": 1}}},
		{`${{ [1, 5] | filter({# > 2}) }}`, []any{5}},
		{`d=${{ date("2024-01-02") }}`, "d=2024-01-02 00:00:00 +0000 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got, err := render(t, tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func mustDate(t *testing.T, s string) any {
	p, err := Compile(`date("`+s+`")`, ScopeStep, false)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Eval(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"s", "s"},
		{true, "true"},
		{42, "42"},
		{int64(-7), "-7"},
		{1.5, "1.5"},
		{1e21, "1000000000000000000000"},
		{float64(3), "3"},
		{map[string]any{"z": 1, "a": nil}, `{"a":null,"z":1}`},
		{[]any{1, "a"}, `[1,"a"]`},
		{[]string{"<b>"}, `["\u003cb\u003e"]`},
		{func() {}, "0x"}, // not JSON: printed with %v (an address)
	} {
		got := Format(tt.v)
		if tt.want == "0x" {
			if !strings.HasPrefix(got, "0x") {
				t.Errorf("Format(func) = %q", got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("Format(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestTemplateSingle(t *testing.T) {
	for s, want := range map[string]bool{
		`${{ x }}`:           true,
		`${{x}}`:             true,
		` ${{ x }}`:          false,
		`${{ x }}${{ y }}`:   false,
		`a${{ x }}`:          false,
		`plain`:              false,
		"${{ detection }}\n": false,
	} {
		v, errs := CompileValue(strings.NewReplacer("x", "detection.x", "y", "detection.y").Replace(s), ScopeStep)
		if errs != nil {
			t.Fatalf("%q: %v", s, errs)
		}
		if v.Single() != want {
			t.Errorf("Single(%q) = %v, want %v", s, v.Single(), want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		tmpl string
		want Error
	}{
		{`${{ detection.x`, Error{1, 1, "unclosed ${{ (missing }})"}},
		{`host ${{ vars.host }} and ${{ detection.x`, Error{1, 27, "unclosed ${{ (missing }})"}},
		{"line 1\n  x ${{ detection.x", Error{2, 5, "unclosed ${{ (missing }})"}},
		{`${{ }}`, Error{1, 4, "expression is empty"}},
		// A bad expression in the middle of a string: the position is that
		// of the bad token in the whole string.
		{`host ${{ detection.a >< 1 }} done`, Error{1, 23, `unexpected token Operator("<")`}},
		{`${{ vars.host }} then ${{ detection.a >< 1 }}`, Error{1, 40, `unexpected token Operator("<")`}},
		{`héllo wörld ${{ detection.a >< 1 }}`, Error{1, 30, `unexpected token Operator("<")`}},
		{"line 1\nline 2 ${{ detection.a >< 1 }}", Error{2, 25, `unexpected token Operator("<")`}},
		{"a ${{ detection.a &&\n  detection.b >< 1 }}", Error{2, 16, `unexpected token Operator("<")`}},
		{"first\nsecond ${{ detection.a &&\n  detection.b >< 1 }}", Error{3, 16, `unexpected token Operator("<")`}},
		{`x ${{ steps[detection.s].status }}`, Error{1, 12, "steps must be indexed by a literal name (steps.<name>)"}},
		{`x ${{ now() }}`, Error{1, 7, "now() is not available: expressions must give the same result when a run is replayed (use detection.time)"}},
		{`${{ "}} }}`, Error{1, 6, "literal not terminated"}},
		{`a ${{ {"x": {"y": 1}}`, Error{1, 3, "unclosed ${{ (missing }})"}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			_, err := CompileTemplate(tt.tmpl, ScopeStep)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want an *Error", err)
			}
			if *ce != tt.want {
				t.Errorf("got %d:%d: %s\nwant %d:%d: %s", ce.Line, ce.Column, ce.Msg, tt.want.Line, tt.want.Column, tt.want.Msg)
			}
		})
	}
	// Scope applies inside templates too.
	if _, err := CompileTemplate(`${{ steps.a.status }}`, ScopeVars); err == nil || !strings.Contains(err.Error(), "steps is not available here") {
		t.Errorf("steps in ScopeVars: %v", err)
	}
}

func TestMaxRenderBytes(t *testing.T) {
	// Built from a short expression so that it stays under expr's memory
	// budget; each piece is 100 KiB.
	piece := `${{ repeat("x", 102400) }}`
	for _, tt := range []struct {
		tmpl    string
		wantErr bool
	}{
		{piece + piece, false},                 // 200 KiB
		{piece + piece + piece, true},          // 300 KiB
		{`${{ repeat("x", 262144) }}`, false},  // exactly the limit, single
		{`${{ repeat("x", 262145) }}`, true},   // single placeholders are bounded too
		{`-${{ repeat("x", 262144) }}`, true},  // one byte over
		{`${{ repeat("x", 262143) }}-`, false}, // exactly the limit, mixed
	} {
		got, err := render(t, tt.tmpl)
		if tt.wantErr {
			if err == nil || err.Error() != "rendered string is longer than 262144 bytes" {
				t.Errorf("%.30s: got %d bytes, %v; want the limit error", tt.tmpl, len(Format(got)), err)
			}
		} else if err != nil {
			t.Errorf("%.30s: %v", tt.tmpl, err)
		}
	}
}

func TestRenderError(t *testing.T) {
	_, err := render(t, `a ${{ detection.missing.x }} b`)
	if err == nil || !strings.Contains(err.Error(), `evaluating " detection.missing.x "`) {
		t.Errorf("err = %v", err)
	}
}

func TestIsTemplate(t *testing.T) {
	for s, want := range map[string]bool{"${{ x }}": true, "a ${{": true, "${ x }": false, "{{ x }}": false, "": false} {
		if IsTemplate(s) != want {
			t.Errorf("IsTemplate(%q) = %v", s, !want)
		}
	}
}

func TestCompileValue(t *testing.T) {
	in := map[string]any{
		"host":  "${{ vars.host }}",
		"count": 3,
		"flag":  true,
		"none":  nil,
		"ids":   []any{"a", "${{ detection.severity_id }}", []any{"x-${{ index }}"}},
		"headers": map[string]any{
			"X-Id":   "${{ run.id }}",
			"Plain":  "text",
			"Nested": map[string]any{"deep": "${{ item.hostname }}"},
		},
		"label": "sev=${{ detection.severity_id }}",
	}
	v, errs := CompileValue(in, ScopeStep)
	if errs != nil {
		t.Fatal(errs)
	}
	if v.IsLiteral() || v.Single() {
		t.Error("a map is neither literal nor single")
	}
	var paths []string
	for _, p := range v.Programs() {
		paths = append(paths, p.Path+"="+p.Prog.Source)
	}
	want := []string{
		"headers.Nested.deep= item.hostname ",
		"headers.X-Id= run.id ",
		"host= vars.host ",
		"ids[1]= detection.severity_id ",
		"ids[2][0]= index ",
		"label= detection.severity_id ",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("Programs():\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if f, ok := v.Field("count"); !ok || !f.IsLiteral() || f.Literal() != 3 {
		t.Errorf("Field(count) = %v, %v", f, ok)
	}
	if f, ok := v.Field("host"); !ok || !f.Single() || f.IsLiteral() {
		t.Errorf("Field(host) = %v, %v", f, ok)
	}
	if _, ok := v.Field("nope"); ok {
		t.Error("Field(nope) found")
	}
	if f, _ := v.Field("count"); f != nil {
		if _, ok := f.Field("x"); ok {
			t.Error("Field of a scalar found something")
		}
	}

	got, err := v.Render(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantOut := map[string]any{
		"host":  "eng-lt-117",
		"count": 3,
		"flag":  true,
		"none":  nil,
		"ids":   []any{"a", float64(4), []any{"x-2"}},
		"headers": map[string]any{
			"X-Id":   "wf-1",
			"Plain":  "text",
			"Nested": map[string]any{"deep": "web1"},
		},
		"label": "sev=4",
	}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Render:\n got %#v\nwant %#v", got, wantOut)
	}
	// The input is not modified.
	if in["host"] != "${{ vars.host }}" {
		t.Error("CompileValue changed its input")
	}

	// A literal list.
	lv, _ := CompileValue([]any{"a", 1}, ScopeStep)
	if out, err := lv.Render(nil); err != nil || !reflect.DeepEqual(out, []any{"a", 1}) {
		t.Errorf("literal list: %v, %v", out, err)
	}
	// A nil *Value renders to nil.
	var nv *Value
	if out, err := nv.Render(nil); out != nil || err != nil {
		t.Errorf("nil value: %v, %v", out, err)
	}
}

func TestCompileValueErrors(t *testing.T) {
	in := map[string]any{
		"ok":   "${{ vars.host }}",
		"bad":  "x ${{ detection.a >< 1 }}",
		"list": []any{"fine", "${{ 1 + }}", map[string]any{"k": "${{ detection.b"}},
		"map":  map[string]any{"z": "${{ now() }}", "a": "${{ steps[detection.x] }}"},
	}
	_, errs := CompileValue(in, ScopeStep)
	var got []string
	for _, e := range errs {
		got = append(got, e.Path+": "+e.Err.Error())
	}
	// Every error is reported, in a stable order (sorted keys).
	want := []string{
		`bad: 1:20: unexpected token Operator("<")`,
		`list[1]: 1:8: unexpected token EOF`,
		`list[2].k: 1:1: unclosed ${{ (missing }})`,
		`map.a: 1:10: steps must be indexed by a literal name (steps.<name>)`,
		`map.z: 1:5: now() is not available: expressions must give the same result when a run is replayed (use detection.time)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRenderValueErrorPath(t *testing.T) {
	v, errs := CompileValue(map[string]any{"a": map[string]any{"b": []any{"ok", "${{ detection.missing.x }}"}}}, ScopeStep)
	if errs != nil {
		t.Fatal(errs)
	}
	_, err := v.Render(testEnv())
	if err == nil || !strings.HasPrefix(err.Error(), "a: b: [1]: evaluating") {
		t.Errorf("err = %v", err)
	}
}

// FuzzTemplate: compiling and rendering any string must never panic.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${{", "}}", "${{ }}", "${{ x }}", "a ${{ vars.host }} b ${{ detection.severity_id }}",
		"${{ detection.device }}", "${{ [1, 2] }}", "${{ \"}}\" }}", "${{ steps[x] }}", "${{ item.hostname }}",
		"é ${{ detection.a >< 1 }}", "line\n${{ a &&\n b }}", "${{ repeat(\"ab\", 3) }}", "${{ keys(detection) }}",
		"${{ cidr_contains(\"10.0.0.0/8\", detection.device.ip) }}", "${{ now() }}", "${${{{ 1 }}}}",
	} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := CompileTemplate(s, ScopeStep)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Column < 1 {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		out, err := tmpl.Render(env)
		if err != nil {
			return
		}
		if str, ok := out.(string); ok && len(str) > MaxRenderBytes {
			t.Fatalf("rendered %d bytes", len(str))
		}
		if !IsTemplate(s) && out != s {
			t.Fatalf("a string without placeholders rendered to %#v", out)
		}
	})
}

// BenchmarkRenderTemplate renders a typical message with three placeholders.
func BenchmarkRenderTemplate(b *testing.B) {
	tmpl, err := CompileTemplate(`Containing ${{ detection.device.hostname }} (${{ detection.device.ip }}): ${{ detection.finding_info.title }}`, ScopeStep)
	if err != nil {
		b.Fatal(err)
	}
	env := (&Env{Detection: detection()}).Map()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Render(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderValue renders a step's `with` as the engine does.
func BenchmarkRenderValue(b *testing.B) {
	v, errs := CompileValue(map[string]any{
		"hostname": "${{ detection.device.hostname }}",
		"message":  "sev ${{ detection.severity_id }}: ${{ detection.finding_info.title }}",
		"ports":    []any{22, 443},
		"labels":   map[string]any{"source": "riposte"},
	}, ScopeStep)
	if errs != nil {
		b.Fatal(errs)
	}
	env := (&Env{Detection: detection()}).Map()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Render(env); err != nil {
			b.Fatal(err)
		}
	}
}

// expr's comments (/* */ and //) are part of an expression: a quote or a
// brace in one ("don't", "it's", "{") is not a string literal or a map,
// so it must not move where the placeholder ends. Before the scanner
// looked for literals and braces, these compiled; a "}}" in a // comment
// still ends the placeholder, as it always did.
func TestTemplateCommentsDoNotMovePlaceholderEnd(t *testing.T) {
	for tmpl, want := range map[string]any{
		`${{ 40 + 2 /* it's */ }} and ${{ 1 }} it's`:      "42 and 1 it's",
		`${{ 1 /* don't retry */ }}-${{ 2 /* won't */ }}`: "1-2",
		`${{ 40 /* { */ + 2 }} tail`:                      "42 tail",
		"${{ 40 + 2 // the host's name\n}} it's":          "42 it's",
		`${{ 40 + 2 // it's }}`:                           42,
		`${{ {"a": 1} /* } */ }}`:                         map[string]any{"a": 1},
	} {
		t.Run(tmpl, func(t *testing.T) {
			tm, err := CompileTemplate(tmpl, ScopeStep)
			if err != nil {
				t.Fatalf("CompileTemplate: %v", err)
			}
			got, err := tm.Render(testEnv())
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, %v; want %#v", got, err, want)
			}
		})
	}
}

// Text in a detection is data, never a template (README: "never
// evaluated"): a title or a nested field holding ${{ … }}, as an
// attacker-steered triage LLM may write, comes out of a playbook's
// placeholders as the same characters, whether the placeholder is alone
// (the value's type kept), inside other text, or deep in a params tree.
func TestDetectionTextIsNeverEvaluated(t *testing.T) {
	const hostile = `${{ 40 + 2 }} ${{ vars.host }} ${{ steps.enrich.output }}`
	env := testEnv()
	det := env["detection"].(map[string]any)
	det["message"] = hostile
	det["device"].(map[string]any)["hostname"] = "${{ vars.host }}"
	for _, tc := range []struct{ tmpl, want string }{
		{`${{ detection.message }}`, hostile},
		{`alert: ${{ detection.message }} on ${{ detection.device.hostname }}`, "alert: " + hostile + " on ${{ vars.host }}"},
		{`${{ detection.message + "" }}`, hostile},
	} {
		tmpl, err := CompileTemplate(tc.tmpl, ScopeStep)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.Render(env)
		if err != nil || got != tc.want {
			t.Errorf("%s = %#v, %v; want the detection's text as is: %q", tc.tmpl, got, err, tc.want)
		}
	}
	v, errs := CompileValue(map[string]any{
		"text":  "Detection: ${{ detection.message }}",
		"items": []any{"${{ detection.device.hostname }}"},
	}, ScopeStep)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got, err := v.Render(env)
	want := map[string]any{"text": "Detection: " + hostile, "items": []any{"${{ vars.host }}"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("params = %#v, %v; want %#v", got, err, want)
	}
}
