package pbtest

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/yamlx"
)

// TestBillionLaughs: a *.test.yaml whose aliases would expand to hundreds of
// millions of values is refused with a positioned error, not decoded.
func TestBillionLaughs(t *testing.T) {
	src := "cases:\n  - name: bomb\n    detection: {class_uid: 2004}\n    expect:\n" + yamlx.BillionLaughs("outputs", 6)
	f, diags := Decode("bomb.test.yaml", []byte(src))
	if f != nil || len(diags) != 1 || !strings.Contains(diags[0].Message, "aliases expand the document to more than") || diags[0].Line < 6 {
		t.Fatalf("got %v, %v", f, diags)
	}
}
