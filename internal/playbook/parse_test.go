package playbook_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

func mustParse(t *testing.T, file string) (*playbook.Playbook, []byte) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pb, diags := playbook.Parse(file, src)
	if diags != nil {
		t.Fatalf("Parse: %v", diags)
	}
	return pb, src
}

// fullPlaybook is testdata/valid/full.yaml as a struct.
func fullPlaybook() *playbook.Playbook {
	return &playbook.Playbook{
		APIVersion:  "riposte/v1",
		Name:        "contain-compromised-host",
		Version:     3,
		Description: "Isolate a workstation that dumped credentials, after a human says yes.",
		Owner:       "secops",
		Mode:        playbook.ModeShadow,
		Trigger:     playbook.Trigger{When: "detection.severity_id >= 4 && detection.confidence_score >= 80"},
		Vars: []playbook.Var{
			{Name: "host", Expr: "detection.device.hostname"},
			{Name: "ip", Expr: "detection.device.ip"},
			{Name: "is_prod", Expr: `glob("*.prod.example.com", vars.host)`},
			{Name: "techniques", Expr: "attack_ids(detection)"},
		},
		Steps: []playbook.Step{
			{
				ID:      "enrich",
				Name:    "Look up the host's IP",
				Action:  "intel.lookup_ip",
				With:    map[string]any{"ip": "${{ vars.ip }}"},
				Timeout: playbook.Duration(30 * time.Second),
				Retry: &playbook.Retry{
					MaxAttempts:     5,
					InitialInterval: playbook.Duration(2 * time.Second),
					Backoff:         1.5,
					MaxInterval:     playbook.Duration(time.Minute),
				},
			},
			{
				ID:     "notify",
				Action: "core.log",
				Needs:  []string{"enrich"},
				With: map[string]any{
					"message": "Containing ${{ vars.host }} (${{ vars.ip }}): ${{ detection.finding_info.title }}",
					"level":   "warn",
				},
				OnFailure: playbook.OnFailureContinue,
			},
			{
				ID:     "contain",
				Name:   "Isolate the host",
				Action: "edr.contain_host",
				Needs:  []string{"enrich", "notify"},
				If:     `steps.enrich.status == "succeeded" && !cidr_contains("10.99.0.0/16", vars.ip)`,
				With: map[string]any{
					"hostname": "${{ vars.host }}",
					"priority": 2,
					"isolate":  true,
					"ports":    []any{22, 443},
					"labels":   map[string]any{"source": "riposte", "playbook": "${{ playbook.name }}"},
				},
				Timeout:    playbook.Duration(2 * time.Minute),
				ContainFor: playbook.Duration(4 * time.Hour),
				Approval: &playbook.Approval{
					If:         "vars.is_prod",
					Approvers:  playbook.Approvers{Users: []string{"U012AB3CD", "U045EF6GH"}, Groups: []string{"S0SECOPS"}},
					Quorum:     2,
					Timeout:    playbook.Duration(30 * time.Minute),
					OnTimeout:  playbook.OnTimeoutEscalate,
					EscalateTo: &playbook.Escalation{Users: []string{"U0MANAGER"}, Timeout: playbook.Duration(time.Hour)},
					Reason:     playbook.ReasonRequired,
					Channel:    "C0INCIDENTS",
				},
			},
			{
				ID:          "sweep",
				Action:      "edr.contain_host",
				Needs:       []string{"contain"},
				ForEach:     "${{ detection.related_hosts ?? [] }}",
				Concurrency: 2,
				With: map[string]any{
					"hostname": "${{ item.hostname }}",
					"note":     "host ${{ index }} of the sweep",
				},
				Approval:   &playbook.Approval{Auto: true},
				ContainFor: playbook.Duration(48 * time.Hour),
			},
			{
				ID:      "close",
				Action:  "core.noop",
				Needs:   []string{"contain", "sweep"},
				ForEach: []any{"low", "high"},
				With: map[string]any{
					"level":    "${{ item }}",
					"statuses": "${{ steps.contain.status }}/${{ steps.sweep.status }}",
				},
			},
		},
		Outputs: []playbook.Output{
			{Name: "contained", Expr: `steps.contain.status == "succeeded"`},
			{Name: "host", Expr: "vars.host"},
			{Name: "techniques", Expr: "vars.techniques"},
		},
		File: "testdata/valid/full.yaml",
	}
}

// exported lists the playbook's exported fields; the parse state (positions
// and source) is not part of the comparison.
func exported(pb *playbook.Playbook) []any {
	return []any{pb.APIVersion, pb.Name, pb.Version, pb.Description, pb.Owner, pb.Mode, pb.Trigger, pb.Vars, pb.Steps, pb.Outputs, pb.File, pb.OnWithdraw}
}

func TestExportedCoversPlaybook(t *testing.T) {
	n := 0
	for f := range reflect.TypeFor[playbook.Playbook]().Fields() {
		if f.IsExported() {
			n++
		}
	}
	if n != len(exported(&playbook.Playbook{})) {
		t.Errorf("Playbook has %d exported fields; update exported()", n)
	}
}

func TestParseFull(t *testing.T) {
	got, _ := mustParse(t, "testdata/valid/full.yaml")
	want := fullPlaybook()
	if !reflect.DeepEqual(exported(got), exported(want)) {
		// Compare piece by piece for a readable failure.
		g, w := exported(got), exported(want)
		for i := range g {
			if i != 8 && !reflect.DeepEqual(g[i], w[i]) {
				t.Errorf("field %d:\n got %#v\nwant %#v", i, g[i], w[i])
			}
		}
		if len(got.Steps) != len(want.Steps) {
			t.Fatalf("%d steps, want %d", len(got.Steps), len(want.Steps))
		}
		for i := range got.Steps {
			if gs, ws := got.Steps[i], want.Steps[i]; !reflect.DeepEqual(gs, ws) {
				t.Errorf("steps[%d]:\n got %#v\nwant %#v", i, gs, ws)
				if gs.Approval != nil && ws.Approval != nil {
					t.Logf("approval:\n got %#v\nwant %#v", *gs.Approval, *ws.Approval)
				}
			}
		}
	}
	if s, ok := got.Step("sweep"); !ok || s.Title() != "sweep" {
		t.Errorf("Step(sweep) = %v, %v", s, ok)
	}
	if s, _ := got.Step("contain"); s.Title() != "Isolate the host" {
		t.Errorf("Title() = %q", s.Title())
	}
	if _, ok := got.Step("nope"); ok {
		t.Error("Step(nope) found a step")
	}
}

// TestParseReference parses the example of the format reference in
// README.md (a copy is in testdata/valid/reference.yaml).
func TestParseReference(t *testing.T) {
	got, src := mustParse(t, "testdata/valid/reference.yaml")
	want := &playbook.Playbook{
		APIVersion:  "riposte/v1",
		Name:        "contain-credential-theft",
		Version:     3,
		Description: "Isolate the host when an AI detector reports credential dumping.",
		Owner:       "soc-team",
		Mode:        playbook.ModeLive,
		OnWithdraw:  playbook.OnWithdrawReview,
		Trigger:     playbook.Trigger{When: "detection.severity_id >= 4 && (detection.confidence_score ?? 0) >= 80"},
		Vars:        []playbook.Var{{Name: "host", Expr: "detection.device.hostname"}},
		Steps: []playbook.Step{
			{
				ID:     "lookup",
				Name:   "Look up the host",
				Action: "core.noop",
				With:   map[string]any{"hostname": "${{ vars.host }}"},
			},
			{
				ID:          "isolate",
				Action:      "core.noop",
				Needs:       []string{"lookup"},
				If:          `steps.lookup.output.hostname != ""`,
				ForEach:     "${{ [vars.host] }}",
				Concurrency: 4,
				Timeout:     playbook.Duration(2 * time.Minute),
				Retry: &playbook.Retry{
					MaxAttempts:     3,
					InitialInterval: playbook.Duration(time.Second),
					Backoff:         2,
					MaxInterval:     playbook.Duration(30 * time.Second),
				},
				OnFailure: playbook.OnFailureContinue,
				Approval: &playbook.Approval{
					Approvers: playbook.Approvers{Users: []string{"U012AB3CD"}, Groups: []string{"S0614TZR7"}},
					Quorum:    1,
					Timeout:   playbook.Duration(30 * time.Minute),
					OnTimeout: playbook.OnTimeoutDeny,
				},
			},
		},
		Outputs: []playbook.Output{{Name: "isolated", Expr: `steps.isolate.status == "succeeded"`}},
		File:    "testdata/valid/reference.yaml",
	}
	if !reflect.DeepEqual(exported(got), exported(want)) {
		t.Errorf("got:\n%#v\nwant:\n%#v", exported(got), exported(want))
	}
	if _, diags := playbook.Compile(got, activities.Catalog(), playbook.Digest(src)); diags != nil {
		t.Errorf("the reference example does not compile:\n%v", diags)
	}

	// The copy must stay the README's example.
	// A moved heading or a lost example fails: it must never pass unchecked.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("reading README.md: %v", err)
	}
	_, after, found := strings.Cut(string(readme), "## Playbook format")
	if !found {
		t.Fatal(`README.md has no "## Playbook format" section; update this test if it moved`)
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README.md's Playbook format section has no ```yaml example")
	}
	if block != string(src) {
		t.Errorf("README.md's example changed; copy it to testdata/valid/reference.yaml and update this test")
	}
}

func TestCompileFull(t *testing.T) {
	pb, src := mustParse(t, "testdata/valid/full.yaml")
	c, diags := playbook.Compile(pb, testCatalog(t), playbook.Digest(src))
	if diags != nil {
		t.Fatal(diags)
	}
	checkCompiledFull(t, c)
}

func checkCompiledFull(t *testing.T, c *playbook.Compiled) {
	t.Helper()
	if c.When == nil || len(c.Vars) != 4 || len(c.Outputs) != 3 || len(c.Steps) != 5 {
		t.Fatalf("compiled: when %v, %d vars, %d outputs, %d steps", c.When, len(c.Vars), len(c.Outputs), len(c.Steps))
	}
	for i, n := range []string{"host", "ip", "is_prod", "techniques"} {
		if c.Vars[i].Name != n || c.Vars[i].Prog == nil {
			t.Errorf("vars[%d] = %+v, want %s (vars keep their order)", i, c.Vars[i], n)
		}
	}
	contain, ok := c.Step("contain")
	if !ok || contain.Index != 2 || contain.Action == nil || contain.Action.Name != "edr.contain_host" {
		t.Fatalf("Step(contain) = %+v", contain)
	}
	if contain.If == nil || contain.ApprovalIf == nil || contain.With == nil || contain.ForEach != nil {
		t.Errorf("contain: if %v, approval.if %v, with %v, for_each %v", contain.If, contain.ApprovalIf, contain.With, contain.ForEach)
	}
	if got, want := contain.If.StepRefs, []string{"enrich"}; !reflect.DeepEqual(got, want) {
		t.Errorf("contain.if step refs = %v", got)
	}
	closeStep, _ := c.Step("close")
	if want := map[string]bool{"enrich": true, "notify": true, "contain": true, "sweep": true}; !reflect.DeepEqual(closeStep.Upstream, want) {
		t.Errorf("close upstream = %v, want %v", closeStep.Upstream, want)
	}
	if enrich, _ := c.Step("enrich"); len(enrich.Upstream) != 0 {
		t.Errorf("enrich upstream = %v", enrich.Upstream)
	}
	sweep, _ := c.Step("sweep")
	if sweep.ForEach == nil || !sweep.ForEach.Single() {
		t.Errorf("sweep.for_each = %v", sweep.ForEach)
	}
	if closeStep.ForEach == nil || closeStep.ForEach.Single() {
		t.Errorf("close.for_each = %v", closeStep.ForEach)
	}
	if _, ok := c.Step("nope"); ok {
		t.Error("Step(nope) found a step")
	}
}

// TestJSONRoundTrip: a Playbook travels as Temporal workflow input, as JSON.
// The copy must keep every field and still compile (ints in `with` come back
// as float64 and must still pass the int param check).
func TestJSONRoundTrip(t *testing.T) {
	pb, src := mustParse(t, "testdata/valid/full.yaml")
	b, err := json.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	var back playbook.Playbook
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, b)
	}
	// JSON numbers decode as float64; everything else must be identical.
	want := fullPlaybook()
	want.Steps[2].With["priority"] = float64(2)
	want.Steps[2].With["ports"] = []any{float64(22), float64(443)}
	if !reflect.DeepEqual(exported(&back), exported(want)) {
		t.Errorf("round trip changed the playbook:\n got %#v\nwant %#v", exported(&back), exported(want))
	}
	c, diags := playbook.Compile(&back, testCatalog(t), playbook.Digest(src))
	if diags != nil {
		t.Fatalf("the round-tripped playbook does not compile:\n%v", diags)
	}
	checkCompiledFull(t, c)
	if c.Digest != playbook.Digest(src) {
		t.Errorf("digest = %s", c.Digest)
	}

	// Durations are written as strings, and read back.
	if !strings.Contains(string(b), `"timeout":"30s"`) || !strings.Contains(string(b), `"contain_for":"2d"`) {
		t.Errorf("durations not written as strings:\n%s", b)
	}
	// A JSON integer param that is not whole is still refused.
	back.Steps[2].With["priority"] = 2.5
	if _, diags := playbook.Compile(&back, testCatalog(t), ""); len(diags) != 1 || !strings.Contains(diags[0].Message, "must be an integer, got a number") {
		t.Errorf("priority 2.5: %v", diags)
	}
}

// TestJSONRoundTripShipped round-trips every valid playbook against the
// catalog Riposte ships.
func TestJSONRoundTripShipped(t *testing.T) {
	for _, file := range []string{"testdata/valid/minimal.yaml", "testdata/valid/anchors.yaml"} {
		pb, _ := mustParse(t, file)
		b, err := json.Marshal(pb)
		if err != nil {
			t.Fatal(err)
		}
		var back playbook.Playbook
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if _, diags := playbook.Compile(&back, activities.Catalog(), ""); diags != nil {
			t.Errorf("%s: %v", file, diags)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		str     string // String(); "" means in
		wantErr string
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "90s", want: 90 * time.Second, str: "1m30s"},
		{in: "2m", want: 2 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "4h", want: 4 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "2d", want: 48 * time.Hour},
		{in: "24h", want: 24 * time.Hour, str: "1d"},
		{in: "1h0m30s", want: time.Hour + 30*time.Second, str: "1h0m30s"},
		{in: "1500ms", want: 1500 * time.Millisecond, str: "1.5s"},
		{in: " 5m ", want: 5 * time.Minute, str: "5m"},
		{in: "0", wantErr: `duration "0" must be positive`},
		{in: "0s", wantErr: `duration "0s" must be positive`},
		{in: "0d", wantErr: `duration "0d" must be positive`},
		{in: "-1s", wantErr: `duration "-1s" must be positive`},
		{in: "-1d", wantErr: `duration "-1d" must be positive`},
		{in: "5 minutes", wantErr: `invalid duration "5 minutes" (want e.g. 30s, 5m, 4h, 2d)`},
		{in: "30", wantErr: `invalid duration "30"`},
		{in: "1.5d", wantErr: `invalid duration "1.5d"`},
		{in: "1w", wantErr: `invalid duration "1w"`},
		{in: "d", wantErr: `invalid duration "d"`},
		{in: "99999999999d", wantErr: `invalid duration "99999999999d"`},
		{in: "", wantErr: "empty duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := playbook.ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error %q", tt.in, d, err, tt.wantErr)
				}
				return
			}
			if err != nil || d.D() != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, d.D(), err, tt.want)
			}
			str := tt.str
			if str == "" {
				str = tt.in
			}
			if d.String() != str {
				t.Errorf("String() = %q, want %q", d.String(), str)
			}
			// What String prints must parse back to the same duration.
			if back, err := playbook.ParseDuration(d.String()); err != nil || back != d {
				t.Errorf("ParseDuration(String()) = %v, %v", back, err)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var j playbook.Duration
			if err := json.Unmarshal(b, &j); err != nil || j != d {
				t.Errorf("JSON %s -> %v, %v", b, j, err)
			}
		})
	}
	if s := playbook.Duration(0).String(); s != "0s" {
		t.Errorf("Duration(0) = %q", s)
	}
	if s := playbook.Duration(-time.Second).String(); s != "-1s" {
		t.Errorf("Duration(-1s) = %q", s)
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]playbook.Duration{
		`"5m"`:        playbook.Duration(5 * time.Minute),
		`"2d"`:        playbook.Duration(48 * time.Hour),
		`"1m30s"`:     playbook.Duration(90 * time.Second),
		`"4h0m0s"`:    playbook.Duration(4 * time.Hour),
		`"0s"`:        0, // what MarshalJSON writes for zero
		`60000000000`: playbook.Duration(time.Minute),
	} {
		var d playbook.Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{`"5 minutes"`, `"-5m"`, `"30"`, `true`, `{"m": 5}`, `"1d12h"`} {
		var d playbook.Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, d)
		}
	}
}
