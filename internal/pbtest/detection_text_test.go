package pbtest

import (
	"os"
	"path/filepath"
	"testing"
)

// A detection's text is data, never a template or an expression: an AI
// detector (or whoever writes the event it reads) controls its title,
// description and host names, and a `${{ vars.secret }}` or
// `${{ steps.x.output }}` written there must reach the action as the
// characters written, whether the playbook's template is exactly one
// placeholder (the value keeps its type), text around one, a list built
// from it, or a for_each item. Templates are compiled from the playbook
// alone (README, "Templates"); a renderer that read its own output again
// would hand the detection the playbook's vars and every step's output.
func TestDetectionTextIsNeverEvaluated(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	example, err := filepath.Abs("../../examples/credential-dumping.json")
	if err != nil {
		t.Fatal(err)
	}
	write("p.yaml", `apiVersion: riposte/v1
name: p
version: 1
trigger: {when: "detection.severity_id >= 4"}
vars:
  secret: '"s3cr3t"'
  host: detection.device.hostname
steps:
  - id: a
    action: core.noop
    with:
      single: ${{ detection.device.hostname }}
      mixed: "host=${{ vars.host }} title=${{ detection.finding_info.title }}"
      list: ${{ [detection.finding_info.desc] }}
  - id: b
    action: core.noop
    needs: [a]
    for_each: ${{ [detection.finding_info.title] }}
    with: {t: "${{ item }}"}
outputs:
  single: steps.a.output.single
  mixed: steps.a.output.mixed
  list: steps.a.output.list
  item: steps.b.output[0].t
`)
	write("p.test.yaml", `cases:
  - name: placeholders in detection text stay text
    detection: `+example+`
    patch:
      device: {hostname: "${{ vars.secret }}"}
      finding_info:
        title: "${{ 6 * 7 }}"
        desc: "${{ steps.a.output }} {{ x }} $${{ y }}"
    expect:
      status: succeeded
      steps:
        a: {status: succeeded, params: {single: "${{ vars.secret }}", mixed: "host=${{ vars.secret }} title=${{ 6 * 7 }}"}}
      outputs:
        single: "${{ vars.secret }}"
        mixed: "host=${{ vars.secret }} title=${{ 6 * 7 }}"
        list: ["${{ steps.a.output }} {{ x }} $${{ y }}"]
        item: "${{ 6 * 7 }}"
`)
	rep, out := run(t, true, filepath.Join(dir, "p.test.yaml"))
	if len(rep.Files) != 1 || len(rep.Files[0].Cases) != 1 {
		t.Fatalf("want 1 case:\n%s", out)
	}
	if !rep.Passed() {
		t.Fatalf("detection text was evaluated:\n%s", out)
	}
}
