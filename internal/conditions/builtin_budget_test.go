package conditions

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

// evalWithin evaluates src against env, failing the test when the
// evaluation is still running after d (a loop the budget does not see).
func evalWithin(t *testing.T, src string, env map[string]any, d time.Duration) (any, error) {
	t.Helper()
	p, err := Compile(src, ScopeStep, false)
	if err != nil {
		t.Fatalf("%s: compile: %v", src, err)
	}
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := p.Eval(env)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(d):
		t.Fatalf("%.80s: evaluation still running after %s: nothing charges its work to the budget", src, d)
		return nil, nil
	}
}

// expr's uniq compares every element with every element kept so far
// (quadratic, none of it charged): uniq of the 100,000 distinct numbers
// or strings a 1 MiB detection holds is 5*10^9 comparisons, a workflow
// task (or an intake request's trigger.when) pinned on a core for
// minutes, from a playbook as plain as uniq(detection.unmapped.ports).
// Strings and numbers are deduplicated in linear time; other values
// (lists, maps) are compared one pair at a time, each comparison a step
// of the budget.
func TestEvalUniqIsBounded(t *testing.T) {
	nums := make([]any, 100000)
	strs := make([]any, 100000)
	for i := range nums {
		nums[i] = float64(i)
		strs[i] = "host-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
	}
	env := (&Env{Detection: map[string]any{"nums": nums, "strs": strs}}).Map()
	for src, want := range map[string]any{
		`len(uniq(detection.nums))`:                100000,
		`len(uniq(detection.strs))`:                100000,
		`len(uniq(1..300000))`:                     300000,
		`len(uniq(concat(detection.nums, 1..99)))`: 100000,
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v, %v; want %v", src, v, err, want)
		}
	}
	// Lists and maps are compared pair by pair: 3,000 distinct lists are
	// 4.5 million comparisons, over the budget.
	if v, err := evalWithin(t, `len(uniq(map(1..3000, [#])))`, env, 5*time.Second); err == nil || !strings.Contains(err.Error(), "too expensive") {
		t.Errorf("uniq of 3,000 distinct lists = %v, %v; want over the budget", v, err)
	}
	// uniq keeps expr's equality: 1 and 1.0 are one value, "1" another,
	// nil equals nil, lists compare by content, NaN equals nothing.
	v, err := evalWithin(t, `uniq([1, 1.0, "1", true, nil, nil, [1], [1], 2, "1", false, true])`, env, 5*time.Second)
	if want := []any{1, "1", true, nil, []any{1}, 2, false}; err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("uniq(mixed) = %#v, %v; want %#v", v, err, want)
	}
}

// glob backtracks: each star retried at every position, a pattern of m
// runes against a string of n is up to n*m steps, none charged. The
// playbook can build both within the byte budget (3 MB and 6 MB: 10^13
// steps, hours on a core).
func TestEvalGlobIsBounded(t *testing.T) {
	env := (&Env{}).Map()
	v, err := evalWithin(t, `glob("*" + repeat("a", 3000000) + "b", repeat("a", 6000000))`, env, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "too expensive") {
		t.Errorf("glob of 10^13 steps = %v, %v; want over the budget", v, err)
	}
	// An ordinary pattern against a long string still matches.
	for src, want := range map[string]any{
		`glob("*.exe", repeat("a", 1000000) + ".EXE")`:               true,
		`glob("*powershell*-enc*", "C:\\x\\PowerShell.exe -Enc QQ")`: true,
		`glob("srv-??", "srv-1")`:                                    false,
	} {
		if v, err := evalWithin(t, src, env, 5*time.Second); err != nil || v != want {
			t.Errorf("%.60s = %v, %v; want %v", src, v, err, want)
		}
	}
}

// split, splitAfter and fromJSON are charged (budget_unix_test.go) and
// still answer as expr's do.
func TestEvalSplitAndFromJSONUnchanged(t *testing.T) {
	env := (&Env{Detection: map[string]any{"cmd": strings.Repeat("x ", 100000)}}).Map()
	for src, want := range map[string]any{
		`split("a,b,c", ",")`:                []string{"a", "b", "c"},
		`split("a,b,c", ",", 2)`:             []string{"a", "b,c"},
		`split("a,b,c", ",", 0)`:             []string(nil),
		`split("héllo", "")`:                 []string{"h", "é", "l", "l", "o"},
		`split("", "")`:                      []string{},
		`splitAfter("a,b,c", ",")`:           []string{"a,", "b,", "c"},
		`splitAfter("a,b,c", ",", 2)`:        []string{"a,", "b,c"},
		`upper(split("a b", " ")[1])`:        "B",
		`len(split(detection.cmd, " "))`:     100001,
		`fromJSON("{\"a\": [1, 2.5]}").a[1]`: 2.5,
		`fromJSON("null")`:                   nil,
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("%s = %#v, %v; want %#v", src, v, err, want)
		}
	}
	if _, err := evalWithin(t, `fromJSON("{")`, env, 5*time.Second); err == nil {
		t.Error(`fromJSON("{") evaluated without an error`)
	}
	// expr's split fails on a value that is not a string; the charged
	// split took it for "" and answered [""], so a trigger such as
	// "10.0.0.1" not in split(detection.allow, ",") matched a
	// detection without the field instead of failing, and a step's with:
	// got an empty target.
	env["detection"].(map[string]any)["port"] = 443.0
	for _, src := range []string{
		`split(detection.allow, ",")`,
		`splitAfter(detection.allow, ",")`,
		`split(detection.port, ",")`,
		`split("a,b", detection.port)`,
		`split(detection.allow, ",", 2)`,
	} {
		if v, err := evalWithin(t, src, env, 5*time.Second); err == nil || !strings.Contains(err.Error(), "not a string") {
			t.Errorf("%s = %#v, %v; want an error: not a string", src, v, err)
		}
	}
}

// trim(s, cutset) with a cutset that is not all ASCII is strings.Trim,
// which looks each rune of s up in the whole cutset: a 10 MB string of é
// and a 3 MB cutset ending in é are 1.5*10^13 bytes scanned, minutes on
// a core, within the byte budget. The cutset is a set, looked up once
// per rune, and trim answers as strings.Trim does.
func TestEvalTrimIsLinear(t *testing.T) {
	env := (&Env{}).Map()
	v, err := evalWithin(t, `len(trim(repeat("é", 5000000), repeat("a", 3000000) + "é"))`, env, 5*time.Second)
	if err != nil || v != 0 {
		t.Errorf("trim = %v, %v; want 0", v, err)
	}
	for _, c := range [][2]string{
		{"  x  ", " "}, {"xxaxx", "x"}, {"éaé", "é"}, {"éaé", "aé"}, {"", "a"}, {"abc", ""},
		{"\xffa\xff", "\xfe"}, {"\xffa\uFFFD", "\uFFFD"}, {"\uFFFDa\xff", "\xff"}, {"ab\xffba", "ab"}, {"日本語日", "日語"},
	} {
		src := `trim(fromBase64("` + base64.StdEncoding.EncodeToString([]byte(c[0])) + `"), fromBase64("` + base64.StdEncoding.EncodeToString([]byte(c[1])) + `"))`
		v, err := evalWithin(t, src, env, 5*time.Second)
		if want := strings.Trim(c[0], c[1]); err != nil || v != want {
			t.Errorf("trim(%q, %q) = %q, %v; want %q", c[0], c[1], v, err, want)
		}
		// A long cutset (the set is built past 64 bytes).
		long := c[1] + strings.Repeat("\u0100", 40)
		if got, want := trimSet(c[0], long), strings.Trim(c[0], long); got != want {
			t.Errorf("trimSet(%q, %q) = %q; want %q", c[0], long, got, want)
		}
	}
	if v, err := evalWithin(t, `trim("  x ")`, env, 5*time.Second); err != nil || v != "x" {
		t.Errorf(`trim("  x ") = %q, %v`, v, err)
	}
}

// FuzzTrimSet: trimSet is strings.Trim.
func FuzzTrimSet(f *testing.F) {
	f.Add("éaé", "é", uint8(40))
	f.Add("\xffa\xff", "\xfe", uint8(0))
	f.Fuzz(func(t *testing.T, s, cutset string, pad uint8) {
		cutset += strings.Repeat("\u0100", int(pad))
		if got, want := trimSet(s, cutset), strings.Trim(s, cutset); got != want {
			t.Fatalf("trimSet(%q, %q) = %q; want %q", s, cutset, got, want)
		}
	})
}
