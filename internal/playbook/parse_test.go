package playbook

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
)

func mustParse(t *testing.T, file string) (*Playbook, []byte) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pb, diags := Parse(file, src)
	if diags != nil {
		t.Fatalf("Parse: %v", diags)
	}
	return pb, src
}

// fullPlaybook is testdata/valid/full.yaml as a struct.
func fullPlaybook() *Playbook {
	return &Playbook{
		APIVersion:  "riposte/v1",
		Name:        "contain-compromised-host",
		Version:     3,
		Description: "Isolate a workstation that dumped credentials, after a human says yes.",
		Owner:       "secops",
		Mode:        ModeShadow,
		Trigger:     Trigger{When: "detection.severity_id >= 4 && detection.confidence_score >= 80"},
		Vars: []Var{
			{Name: "host", Expr: "detection.device.hostname"},
			{Name: "ip", Expr: "detection.device.ip"},
			{Name: "is_prod", Expr: `glob("*.prod.example.com", vars.host)`},
			{Name: "techniques", Expr: "attack_ids(detection)"},
		},
		Steps: []Step{
			{
				ID:      "enrich",
				Name:    "Look up the host's IP",
				Action:  "intel.lookup_ip",
				With:    map[string]any{"ip": "${{ vars.ip }}"},
				Timeout: Duration(30 * time.Second),
				Retry: &Retry{
					MaxAttempts:     5,
					InitialInterval: Duration(2 * time.Second),
					Backoff:         1.5,
					MaxInterval:     Duration(time.Minute),
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
				OnFailure: OnFailureContinue,
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
				Timeout:    Duration(2 * time.Minute),
				ContainFor: Duration(4 * time.Hour),
				Approval: &Approval{
					If:         "vars.is_prod",
					Approvers:  Approvers{Users: []string{"U012AB3CD", "U045EF6GH"}, Groups: []string{"S0SECOPS"}},
					Quorum:     2,
					Timeout:    Duration(30 * time.Minute),
					OnTimeout:  OnTimeoutEscalate,
					EscalateTo: &Escalation{Users: []string{"U0MANAGER"}, Timeout: Duration(time.Hour)},
					Reason:     ReasonRequired,
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
				Approval:   &Approval{Auto: true},
				ContainFor: Duration(48 * time.Hour),
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
		Outputs: []Output{
			{Name: "contained", Expr: `steps.contain.status == "succeeded"`},
			{Name: "host", Expr: "vars.host"},
			{Name: "techniques", Expr: "vars.techniques"},
		},
		File: "testdata/valid/full.yaml",
	}
}

// exported returns the playbook without its unexported parse state.
func exported(pb *Playbook) Playbook {
	c := *pb
	c.pos, c.src = nil, nil
	return c
}

func TestParseFull(t *testing.T) {
	got, _ := mustParse(t, "testdata/valid/full.yaml")
	want := fullPlaybook()
	if !reflect.DeepEqual(exported(got), exported(want)) {
		// Compare field by field for a readable failure.
		g, w := exported(got), exported(want)
		gs, ws := g.Steps, w.Steps
		g.Steps, w.Steps = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("playbook:\n got %#v\nwant %#v", g, w)
		}
		if len(gs) != len(ws) {
			t.Fatalf("%d steps, want %d", len(gs), len(ws))
		}
		for i := range gs {
			if !reflect.DeepEqual(gs[i], ws[i]) {
				t.Errorf("steps[%d]:\n got %#v\nwant %#v", i, gs[i], ws[i])
				if gs[i].Approval != nil && ws[i].Approval != nil {
					t.Logf("approval:\n got %#v\nwant %#v", *gs[i].Approval, *ws[i].Approval)
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

func TestCompileFull(t *testing.T) {
	pb, src := mustParse(t, "testdata/valid/full.yaml")
	c, diags := Compile(pb, testCatalog(t), Digest(src))
	if diags != nil {
		t.Fatal(diags)
	}
	checkCompiledFull(t, c)
}

func checkCompiledFull(t *testing.T, c *Compiled) {
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
	var back Playbook
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, b)
	}
	// JSON numbers decode as float64; everything else must be identical.
	want := exported(fullPlaybook())
	want.Steps[2].With["priority"] = float64(2)
	want.Steps[2].With["ports"] = []any{float64(22), float64(443)}
	if !reflect.DeepEqual(exported(&back), want) {
		t.Errorf("round trip changed the playbook:\n got %#v\nwant %#v", exported(&back), want)
	}
	c, diags := Compile(&back, testCatalog(t), Digest(src))
	if diags != nil {
		t.Fatalf("the round-tripped playbook does not compile:\n%v", diags)
	}
	checkCompiledFull(t, c)
	if c.Digest != Digest(src) {
		t.Errorf("digest = %s", c.Digest)
	}

	// Durations are written as strings, and read back.
	if !strings.Contains(string(b), `"timeout":"30s"`) || !strings.Contains(string(b), `"contain_for":"2d"`) {
		t.Errorf("durations not written as strings:\n%s", b)
	}
	// A JSON integer param that is not whole is still refused.
	back.Steps[2].With["priority"] = 2.5
	if _, diags := Compile(&back, testCatalog(t), ""); len(diags) != 1 || !strings.Contains(diags[0].Message, "must be an integer, got a number") {
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
		var back Playbook
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if _, diags := Compile(&back, activities.Catalog(), ""); diags != nil {
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
			d, err := ParseDuration(tt.in)
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
			if back, err := ParseDuration(d.String()); err != nil || back != d {
				t.Errorf("ParseDuration(String()) = %v, %v", back, err)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var j Duration
			if err := json.Unmarshal(b, &j); err != nil || j != d {
				t.Errorf("JSON %s -> %v, %v", b, j, err)
			}
		})
	}
	if s := Duration(0).String(); s != "0s" {
		t.Errorf("Duration(0) = %q", s)
	}
	if s := Duration(-time.Second).String(); s != "-1s" {
		t.Errorf("Duration(-1s) = %q", s)
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]Duration{
		`"5m"`:        Duration(5 * time.Minute),
		`"2d"`:        Duration(48 * time.Hour),
		`"1m30s"`:     Duration(90 * time.Second),
		`"4h0m0s"`:    Duration(4 * time.Hour),
		`"0s"`:        0, // what MarshalJSON writes for zero
		`60000000000`: Duration(time.Minute),
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{`"5 minutes"`, `"-5m"`, `"30"`, `true`, `{"m": 5}`, `"1d12h"`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, d)
		}
	}
}
