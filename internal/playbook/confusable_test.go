package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A step id, var or output name, playbook name or approver id holding a
// character that looks like an ASCII one (a Cyrillic о or е pasted from a
// chat or a web page) is refused, and the message names that character:
// "lооkup" must be lowercase letters..." alone reads, on screen, as a
// refusal of the valid "lookup". Ids stay ASCII: a Unicode letter is
// refused (steps.<id> must name exactly what the step is).
func TestConfusableNamesAreRefusedNamingTheCharacter(t *testing.T) {
	src := "apiVersion: riposte/v1\n" +
		"name: c\u043entain\n" + // Cyrillic о
		"version: 1\n" +
		"trigger: {when: \"detection.severity_id >= 4\"}\n" +
		"vars:\n" +
		"  h\u043est: detection.device.hostname\n" +
		"steps:\n" +
		"  - id: l\u043e\u043ekup\n" + // Cyrillic оо
		"    action: core.noop\n" +
		"  - id: t\u00e9st\n" + // a Latin letter, not ASCII either
		"    action: core.noop\n" +
		"    approval: {approvers: {users: [U012\u0410B3CD]}}\n" + // Cyrillic А
		"outputs:\n" +
		"  r\u0435sult: \"1\"\n" // Cyrillic е
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:2:7: name: "cоntain" must be lowercase letters, digits and dashes, starting and ending with a letter or digit; "о" (U+043E) at column 8 is not ASCII`,
		`p.yaml:6:3: vars: name "hоst" must be an identifier (letters, digits, _); "о" (U+043E) at column 4 is not ASCII`,
		`p.yaml:8:9: steps[0].id: "lооkup" must be lowercase letters, digits and _, starting with a letter; "о" (U+043E) at column 10 is not ASCII`,
		`p.yaml:10:9: steps[1].id: "tést" must be lowercase letters, digits and _, starting with a letter; "é" (U+00E9) at column 10 is not ASCII`,
		`p.yaml:12:36: steps[1].approval.approvers.users[0]: "U012АB3CD" is not a Slack user id (U… or W…); "А" (U+0410) at column 40 is not ASCII`,
		`p.yaml:14:3: outputs: name "rеsult" must be an identifier (letters, digits, _); "е" (U+0435) at column 4 is not ASCII`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The column named is the character's, or none: a value after an anchor
// (&x lоokup) starts after the anchor, not at the node's column, which is
// the anchor's (it said column 11, the space after &x).
func TestConfusableColumnAfterAnAnchor(t *testing.T) {
	src := "apiVersion: riposte/v1\n" +
		"name: c\n" +
		"version: 1\n" +
		"trigger: {when: \"detection.severity_id >= 4\"}\n" +
		"steps:\n" +
		"  - id: &x lo\u043ekup\n" +
		"    action: core.noop\n" +
		"  - id: &y 'lo\u043ekup2'\n" +
		"    action: core.noop\n"
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:6:9: steps[0].id: "loоkup" must be lowercase letters, digits and _, starting with a letter; "о" (U+043E) is not ASCII`,
		`p.yaml:8:9: steps[1].id: "loоkup2" must be lowercase letters, digits and _, starting with a letter; "о" (U+043E) is not ASCII`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The column named is on the line the message is at: a plain id folded
// over two lines (YAML joins them with a space) has its character on the
// next line, and naming "column 12" of the first line pointed past the end
// of it; a double-quoted id without an escape is spelt as is, so its
// character has a column.
func TestConfusableColumnIsOnTheMessagesLine(t *testing.T) {
	src := "apiVersion: riposte/v1\n" +
		"name: c\n" +
		"version: 1\n" +
		"trigger: {when: \"detection.severity_id >= 4\"}\n" +
		"steps:\n" +
		"  - id: lo\n" +
		"      \u043ekup\n" +
		"    action: core.noop\n" +
		"  - id: \"lo\u043ekup2\"\n" +
		"    action: core.noop\n"
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:6:9: steps[0].id: "lo оkup" must be lowercase letters, digits and _, starting with a letter; "о" (U+043E) is not ASCII`,
		`p.yaml:9:9: steps[1].id: "loоkup2" must be lowercase letters, digits and _, starting with a letter; "о" (U+043E) at column 12 is not ASCII`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
