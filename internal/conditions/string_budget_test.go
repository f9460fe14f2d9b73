package conditions

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// README: every evaluation is bounded so that no expression can exhaust
// memory, at most 16 MiB built by the operations it lists. upper, lower,
// toBase64 and fromBase64 build a new string as long as (or longer than)
// their argument, keys() and values() a list of a map's entries, and uniq
// (Riposte's, linear) a list and a set of what it keeps; none of it was
// charged: in a loop over a detection field of a megabyte,
// `len(map(1..1000, upper(detection.blob)))` keeps a gigabyte and returns
// 1000, a value small enough to pass the final charge (200 uniq of a
// 65,536-string list: 2.4 GB). What they build counts in the bytes budget.
func TestEvalCaseAndBase64StringsCharged(t *testing.T) {
	blob := strings.Repeat("x", 1<<20)
	list := make([]any, 1<<16)
	obj := map[string]any{}
	for i := range list {
		list[i] = strconv.Itoa(i)
		obj[strconv.Itoa(i)] = i
	}
	env := (&Env{Detection: map[string]any{"blob": blob, "BLOB": strings.ToUpper(blob), "b64": strings.Repeat("eHh4", 1<<18),
		"list": list, "obj": obj}}).Map()
	for _, src := range []string{
		`len(map(1..200, upper(detection.blob)))`,
		`len(map(1..200, lower(detection.BLOB)))`,
		`len(map(1..200, toBase64(detection.blob)))`,
		`len(map(1..200, fromBase64(detection.b64)))`,
		`len(map(1..200, sort(detection.list)))`,
		`len(map(1..200, reverse(detection.list)))`,
		`len(map(1..200, uniq(detection.list)))`,
		`len(map(1..200, keys(detection.obj)))`,
		`len(map(1..200, values(detection.obj)))`,
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v, err := evalWithin(t, src, env, 20*time.Second)
		runtime.ReadMemStats(&after)
		built := (after.TotalAlloc - before.TotalAlloc) >> 20
		// expr's own memory budget stops sort and reverse.
		if err == nil || !strings.Contains(err.Error(), "too expensive") && !strings.Contains(err.Error(), "memory budget exceeded") {
			t.Errorf("%s = %v, %v after allocating %d MiB; want the bytes budget's error (16 MiB)", src, v, err, built)
		}
		if built > 64 {
			t.Errorf("%s: %d MiB allocated, want the evaluation stopped near the 16 MiB budget", src, built)
		}
	}
	// Small ones still work.
	for src, want := range map[string]any{
		`upper("ab") + lower("CD")`:  "ABcd",
		`fromBase64(toBase64("hi"))`: "hi",
		`upper(detection.blob[0:3])`: "XXX",
	} {
		v, err := evalWithin(t, src, env, 5*time.Second)
		if err != nil || v != want {
			t.Errorf("%s = %v, %v; want %v", src, v, err, want)
		}
	}
}
