package connector

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// RedactShapes redacts whole vendor messages (StatusError, ToActivityError:
// bodies up to 4 MiB). Its cost must grow linearly with the text: it used
// to copy the rest of the text for every "key: value" it met, and 1 MiB of
// Cookie:/X-Api-Key: lines took over a minute of CPU. Measured by the bytes
// it allocates (not by time: the machine's load and -race would make a
// timed assertion flaky): four times the text may cost about four times
// the bytes, not sixteen. BenchmarkRedactShapesDump times it.
// The XML dump (xmlDump) holds the name/value shapes of
// redactXMLNameValues, xmlElementDump the secret elements of
// redactXMLSecretElements.
func TestRedactShapesCostIsLinear(t *testing.T) {
	for _, d := range []struct {
		name       string
		dump       func(int) string
		gone, keep []string
	}{
		{"request dump", redactDump, []string{"abc123def456", "k-7f3a9c"}, []string{"Host: api.example.com"}},
		{"XML", xmlDump, []string{"hunter2secret", "k-7f3a9c", "s3cr3t-P4ss"}, []string{"<Value>web-01</Value>", `value="soc-team"`}},
		{"XML elements", xmlElementDump, []string{"Tr0ub4dor3x", "FwoG", "YXdz", "Qp8~abc"}, []string{"<user>svc-riposte</user>", "&lt;NextToken&gt;page-3&lt;/NextToken&gt;", `\u003cuser\u003ebob\u003c/user\u003e`}},
	} {
		small, large := d.dump(64<<10), d.dump(256<<10)
		a, b := allocBytes(func() { RedactShapes(small) }), allocBytes(func() { RedactShapes(large) })
		if ratio := float64(b) / float64(a); ratio > 8 {
			t.Errorf("%s: RedactShapes allocated %d B for %d KiB and %d B for %d KiB (%.1f×): not linear", d.name, a, len(small)>>10, b, len(large)>>10, ratio)
		}
		out := RedactShapes(large)
		for _, g := range d.gone {
			if strings.Contains(out, g) {
				t.Errorf("%s: RedactShapes kept %q: %.300s", d.name, g, out)
			}
		}
		for _, k := range d.keep {
			if !strings.Contains(out, k) {
				t.Errorf("%s: RedactShapes lost %q: %.300s", d.name, k, out)
			}
		}
	}
}

// BenchmarkRedactXMLNameValues times the XML scan at two sizes: it walks
// the text once, so ns/op grows with the text (32×), MB/s stays about the
// same. A loop that went back from each '<' would allocate nothing more,
// so TestRedactShapesCostIsLinear cannot see it; this measures it (a
// timed assertion in a test would be flaky under load and -race).
func BenchmarkRedactXMLNameValues(b *testing.B) {
	for _, n := range []int{32 << 10, 1 << 20} {
		dump := xmlDump(n)
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				redactXMLNameValues(dump)
			}
		})
	}
}

// BenchmarkRedactXMLSecretElements times the secret elements' scan the
// same way.
func BenchmarkRedactXMLSecretElements(b *testing.B) {
	for _, n := range []int{32 << 10, 1 << 20} {
		dump := xmlElementDump(n)
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(len(dump)))
			for b.Loop() {
				redactXMLSecretElements(dump)
			}
		})
	}
}

func BenchmarkRedactShapesDump(b *testing.B) {
	dump := redactDump(1 << 20)
	b.SetBytes(int64(len(dump)))
	for b.Loop() {
		RedactShapes(dump)
	}
}

// redactDump is a gateway's dump of the requests it refused, headers one a
// line, of about n bytes.
func redactDump(n int) string {
	req := "Host: api.example.com\nCookie: sid=abc123def456\nX-Api-Key: k-7f3a9c\n"
	return strings.Repeat(req, n/len(req))
}

// xmlDump is about n bytes of XML name/value pairs in each form
// redactXMLNameValues reads, secret and not, with the shapes that make a
// scanner look ahead: unclosed quotes, a '<' in prose, CDATA, a start
// tag whose end tag never comes, escaped markup.
func xmlDump(n int) string {
	rec := `<member><Key>DB_PASSWORD</Key><Value>hunter2secret</Value></member><member><Key>Name</Key><Value>web-01</Value></member>` + "\n" +
		`<add key="ApiKey" value="k-7f3a9c"/><add key="Owner" value="soc-team"/><setting name="token"><value><![CDATA[k-7f3a9c]]></value></setting>` + "\n" +
		`&lt;ParameterKey&gt;DbPassword&lt;/ParameterKey&gt;&lt;ParameterValue&gt;s3cr3t-P4ss&lt;/ParameterValue&gt; \u003cKey\u003eNAME\u003c/Key\u003e` + "\n" +
		`if a < b && c <d e="f <g h='i <Value>j <member><Key>k` + "\n"
	return strings.Repeat(rec, n/len(rec))
}

// xmlElementDump is about n bytes of XML elements named as secret keys
// in each form redactXMLSecretElements reads, and others, with CDATA
// sections holding what reads as a tag, an escaped tag in prose, a '<'
// in prose and a quote never closed.
func xmlElementDump(n int) string {
	rec := `<Login><user>svc-riposte</user><password>Tr0ub4dor3x</password></Login>` + "\n" +
		`&lt;Credentials&gt;&lt;SessionToken&gt;&lt;![CDATA[FwoG&lt;b&gt;YXdz]]&gt;&lt;/SessionToken&gt;&lt;NextToken&gt;page-3&lt;/NextToken&gt;&lt;/Credentials&gt;` + "\n" +
		`{"received":"\u003cns:ClientSecret xmlns:ns=\"urn:x\"\u003eQp8~abc.DEF\u003c/ns:ClientSecret\u003e\u003cuser\u003ebob\u003c/user\u003e"}` + "\n" +
		`<p>Send your &lt;password&gt; element, if a < b && c <d e="f</p>` + "\n"
	return strings.Repeat(rec, n/len(rec))
}

// allocBytes is what f allocates, in bytes.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// BenchmarkRedactXMLAdversarial times shapes that made the XML scans go
// back over the text: many secret elements each inside a CDATA section
// (each element's text was read again across every section after it),
// and many name elements whose CDATA section never ends (each name, read
// to the end of the text, was matched against the secret names whole).
// ns/op should grow about 4× from one size to the next, not 16×.
func BenchmarkRedactXMLAdversarial(b *testing.B) {
	for _, d := range []struct {
		name string
		rec  string
		head string
		tail string
	}{
		{"secret elements in CDATA sections", `<![CDATA[<password>x]]>`, `<password>x`, `<a>`},
		{"names whose CDATA never ends", `<key><![CDATA[`, "", ""},
		{"escaped names whose CDATA never ends", `&lt;Key&gt;&lt;![CDATA[`, "", ""},
		{"secret elements whose CDATA never ends", `<password><![CDATA[`, "", ""},
		{"values before their names", `<member><value><b>x</b></value><value><c/>`, "", `<name>password</name>`},
		{"secret elements cut in CDATA sections", `<a><![CDATA[<password><value>x]]></a>`, "", ""},
		{"CDATA sections wrapped without splitting", `<r><![CDATA[<password><![CDATA[x]]>y</password>`, "", ""},
		{"character references with leading zeros", `&#0000000060;password&#00062;x&#x0003c;![CDATA[`, "", ""},
		{"character references escaped again", `&amp;#0000060;password&amp;#62;x\u0026#x0003c;![CDATA[`, "", ""},
		{"character references without ';'", `&#60password&#62x&#60value&#62&#60b&#62`, "", `&#60name&#62password&#60/name&#62`},
		{"values of other forms opened inside values", `<member><value><string>&lt;value&gt;&lt;b&gt;\u003cvalue\u003e\u003cc\u003e`, "", `</string></value><name>password</name>`},
		{"named texts holding escaped markup, never closed", `<entry key="password">a&lt;b&gt;<dict><key>Password</key><string>&lt;b&gt;`, "", ""},
	} {
		for _, n := range []int{16 << 10, 64 << 10} {
			s := d.head + strings.Repeat(d.rec, n/len(d.rec)) + d.tail
			b.Run(fmt.Sprintf("%s/%dKiB", d.name, n>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					RedactShapes(s)
				}
			})
		}
	}
}
