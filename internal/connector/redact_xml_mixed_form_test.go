package connector

import (
	"strings"
	"testing"
)

// A password holding '<' and '>' is written in raw XML as &lt; and &gt;
// (XML escapes them in text): <password>p&lt;Qa&gt;9x</password>. The
// scan of 6ed5492 read &lt;Qa&gt; as a tag (of the escaped form) ending
// the raw element's text, found no end tag there, and left the password in
// clear; the regexp before it took any text up to "</" and hid it. The
// text of an element ends at an end tag in its own form; markup of another
// form is its text.
func TestRedactShapesSecretElementTextHoldsOtherForm(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		{"escaped start tag in a raw password",
			`<Login><user>bob</user><password>p&lt;Qa&gt;9x</password></Login>`,
			`<Login><user>bob</user><password>[REDACTED]</password></Login>`, "9x"},
		{"escaped empty tag in a raw password",
			`<password>ab&lt;cd/&gt;ef</password><user>bob</user>`,
			`<password>[REDACTED]</password><user>bob</user>`, "ef<"},
		{"escaped tag with an attribute in a raw password",
			`<password>a&amp;b&lt;c d&gt;e7</password>`,
			`<password>[REDACTED]</password>`, "e7"},
		{"escaped end tag in a raw password",
			`<password>hunter2&lt;/password&gt;x</password>`,
			`<password>[REDACTED]</password>`, "hunter2"},
		{"json-escaped tag in a raw token",
			`<SessionToken>FwoG\u003cb\u003eYXdz</SessionToken>`,
			`<SessionToken>[REDACTED]</SessionToken>`, "YXdz"},
		// An escaped secret element inside a raw one that is a parent
		// is still found.
		{"escaped secret inside a raw parent",
			`<SecretKey><x>1</x>&lt;password&gt;hunter2&lt;/password&gt;</SecretKey>`,
			`<SecretKey>[REDACTED]</SecretKey>`, "hunter2"},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("%s: RedactShapes(%s)\n got %s\nwant %s", tt.name, tt.in, got, tt.want)
		}
		if strings.Contains(got, tt.gone) {
			t.Errorf("%s: RedactShapes kept %q", tt.name, tt.gone)
		}
	}
}
