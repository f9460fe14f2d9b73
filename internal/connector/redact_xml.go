package connector

import (
	"sort"
	"strings"
	"unicode"
)

// XML writes a setting as a name/value pair too, and vendors quote such
// documents in their answers: AWS query APIs' tags and CloudFormation
// parameters (<member><Key>DB_PASSWORD</Key><Value>…</Value></member>,
// <ParameterKey>/<ParameterValue>), EC2's <item><key>…</key><value>…
// </value></item>, Hadoop's <property><name>…</name><value>…</value>
// </property>, .NET's <add key="ApiKey" value="…"/> (appSettings,
// NuGet's packageSourceCredentials) and <setting name="ApiKey"><value>…
// </value></setting>, Java's <entry key="db.password">…</entry>.
// redactXMLNameValues hides the value of such a pair whose name is a
// secret name (isSecretName, the rule of the JSON pairs), in either
// order:
//
//   - among the elements of one parent that hold only text (a run of
//     leaves), an element named key, name or parameterkey names the pair
//     and the text of each element named value or parametervalue is its
//     value;
//   - in one tag, a key or name attribute names it and the value
//     attribute is its value;
//   - a key or name attribute of a parent names the value children of
//     that parent; a key attribute of a text-only element without a value
//     attribute names that element's own text (<entry key="…">…</entry>).
//
// A value whose name came first that holds elements, and a text a key
// names (<entry key="…">, a property list's value) holding escaped
// markup read as elements (p&lt;Qa&gt;9x: Java's storeToXML and plistlib
// write a '<' in a text so), are hidden whole, to their end tag.
//
// Two shapes name the value otherwise: XML-RPC's struct member
// (<member><name>password</name><value><string>…</string></value>
// </member>), whose value element holds elements and is hidden whole to
// its end tag (also when it comes before the name: what it holds is read
// for pairs all the same), and a property list's <key>Password</key><string>…
// </string>, whose value is the element after the key, named by its type.
//
// Element names are matched case-insensitively, without a namespace
// prefix. The markup may be written as is, escaped as XML or HTML text
// (&lt;Key&gt;: XML quoted in a SOAP fault or an HTML error page; also
// &lt;Key>, '>' left as is, as Woodstox writes XML text; or by code
// point, &#60;Key&#62;, &#x3C;Key&#x3E;, with leading zeros or not,
// &#060;Key&#062;, with their ';' or not, as HTML reads them, &#60Key&#62), escaped twice (&amp;lt;Key&amp;gt;, &amp;#60;Key
// &amp;#62;), or as Go and .NET's JSON encoders write it (\u003cKey\u003e,
// and \u0026lt;Key\u0026gt; or \u0026#60;Key\u0026#62; for escaped XML),
// and so may a CDATA section
// (&lt;![CDATA[…]]&gt;); an attribute's quotes as ", ', \" (XML in a JSON
// string) or escaped as each form writes them (xmlQuotes, and by code
// point with leading zeros: quoteRefAt). A text or an
// attribute value still open at the end of s (Snippet's cut) is redacted
// to the end, and so is a text whose CDATA section never ends (what
// follows its start is still read for pairs). The text is read from left
// to right, a part of it at most a few times (a tag that turns out not to
// be one is read again from its '<', a CDATA section that never ends from
// its start, its end looked for once): the cost is linear
// (BenchmarkRedactXMLNameValues measures it).
func redactXMLNameValues(s string) string {
	if !strings.ContainsAny(s, "<&\\") {
		return s
	}
	x := newXMLScan(s)
	x.scan()
	return x.redact()
}

// redactXMLSecretElements hides the text of each XML element named as a
// secret key (secretElementName: <password>…</password>, <SessionToken>,
// <ns:ClientSecret xmlns:ns="…">: XML answers of PAN-OS, AWS query APIs,
// SOAP services), a CDATA text (<![CDATA[…]]>: a text holding < or &, or
// any text for some writers) included, in each form redactXMLNameValues
// reads: as is, escaped as XML or HTML text (&lt;password&gt;…, &lt;![CDATA[
// …]]&gt;: XML quoted in a SOAP fault's detail or an HTML error page),
// escaped by a JSON encoder (\u003cpassword\u003e…, \u003c![CDATA[…]]\u003e),
// the other forms of xmlForms, or as is in a JSON string (\n, \" in the
// text). An element holding elements (<password><value>…</value>
// </password>) is hidden whole, to its end tag. The text ends at the end
// tag that follows it in its form (escaped markup in a raw element's text
// is text: <password>p&lt;Qa&gt;9x</password>); when s ends inside it (Snippet's cut,
// a vendor's), or inside its CDATA section, it is hidden to the end.
// Elements are looked for inside other elements' CDATA sections too (a
// SOAP fault quoting the request it refused); the text of one whose
// section ends inside it ends there, and the tags of a section pair among
// themselves (elementEnd: an end tag in a CDATA text is text). The cost
// is linear (BenchmarkRedactXMLSecretElements).
func redactXMLSecretElements(s string) string {
	if !strings.ContainsAny(s, "<&\\") {
		return s
	}
	x := newXMLScan(s)
	x.secretElements()
	return x.redact()
}

// xmlForm is how a document writes its markup: '<' and '>' as they are,
// escaped as XML/HTML text (by name or by code point), escaped twice, or
// escaped by a JSON encoder (Go's escapes the '&' of an escaped '<' too);
// a CDATA section is delimited by its '<' and "![CDATA[", and by "]]"
// and its first '>', in the same form. A tag ends with any of gts: XML
// text needs only '<' and '&' escaped, so Woodstox (the StAX writer of
// Apache CXF and Jackson) writes &lt;password>…&lt;/password> (and
// "]]&gt;"), which escaped again or by a JSON encoder keeps its '>' one
// escape behind its '<'. A form by code point (num: 'd' decimal, 'x'
// hex) writes '<' and its first '>' as character references with any
// number of leading zeros (&#060;, &#x003C;: XML 1.0's CharRef, see
// numericRef), their '&' as it is, escaped again (&amp;#60;: an HTML
// page quoting such XML) or by a JSON encoder (\u0026#60;: Go's escapes
// '&'): amp; lt and gts[0] are their shortest spelling.
type xmlForm struct {
	lt  string
	gts []string
	num byte
	amp string
}

var xmlForms = [...]xmlForm{
	{"<", []string{">"}, 0, ""},
	{"&lt;", []string{"&gt;", ">"}, 0, ""},
	{`\u003c`, []string{`\u003e`}, 0, ""},
	{"&#60;", []string{"&#62;", ">"}, 'd', "&"},
	{"&#x3c;", []string{"&#x3e;", ">"}, 'x', "&"},
	{"&amp;lt;", []string{"&amp;gt;", "&gt;"}, 0, ""},
	{`\u0026lt;`, []string{`\u0026gt;`, `\u003e`}, 0, ""},
	{"&amp;#60;", []string{"&amp;#62;", "&gt;"}, 'd', "&amp;"},
	{"&amp;#x3c;", []string{"&amp;#x3e;", "&gt;"}, 'x', "&amp;"},
	{`\u0026#60;`, []string{`\u0026#62;`, `\u003e`}, 'd', `\u0026`},
	{`\u0026#x3c;`, []string{`\u0026#x3e;`, `\u003e`}, 'x', `\u0026`},
}

// ltAt is the length of the '<' of form at the start of s, or 0.
func (form xmlForm) ltAt(s string) int {
	if form.num != 0 {
		return numericRefOf(s, form.amp, form.num, '<')
	}
	if hasPrefixFold(s, form.lt) {
		return len(form.lt)
	}
	return 0
}

// gtAt is the length of the first '>' of form (gts[0]) at the start of
// s, or 0.
func (form xmlForm) gtAt(s string) int {
	if form.num != 0 {
		return numericRefOf(s, form.amp, form.num, '>')
	}
	if hasPrefixFold(s, form.gts[0]) {
		return len(form.gts[0])
	}
	return 0
}

// tagEnd is the length of the '>' of form at the start of s, or 0.
func (form xmlForm) tagEnd(s string) int {
	if n := form.gtAt(s); n > 0 {
		return n
	}
	for _, gt := range form.gts[1:] {
		if hasPrefixFold(s, gt) {
			return len(gt)
		}
	}
	return 0
}

// cdataOpenAt is the length of the start of a CDATA section of form at
// the start of s ("<![CDATA["), or 0.
func (form xmlForm) cdataOpenAt(s string) int {
	if n := form.ltAt(s); n > 0 && hasPrefixFold(s[n:], "![CDATA[") {
		return n + len("![CDATA[")
	}
	return 0
}

// cdataCloseAt is the length of the end of a CDATA section of form at
// the start of s ("]]>"), or 0.
func (form xmlForm) cdataCloseAt(s string) int {
	if strings.HasPrefix(s, "]]") {
		if n := form.gtAt(s[2:]); n > 0 {
			return 2 + n
		}
	}
	return 0
}

// numericRefOf is the length of the character reference to c at the
// start of s, its '&' written as amp, decimal (num 'd': &#60;) or hex
// ('x': &#x3C;), with any number of leading zeros (XML 1.0 §4.1,
// CharRef: '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'), or 0. Its digits
// are read once, whatever their number.
func numericRefOf(s, amp string, num byte, c rune) int {
	n := len(amp)
	if len(s) < n+3 || !hasPrefixFold(s, amp) || s[n] != '#' {
		return 0
	}
	if hex := s[n+1] == 'x' || s[n+1] == 'X'; hex != (num == 'x') {
		return 0
	}
	if r, e := charRef(s, n); r == c {
		return e
	}
	return 0
}

// charRef reads the character reference whose '#' is at s[i] (&#60;,
// &#x3C;, any number of leading zeros): its code point (-1 for none, or
// one past unicode.MaxRune) and where it ends, past its ';'. As HTML
// reads it, the ';' may be missing (&#60password: a parse error, but
// '<'), and the digits run as far as they go (&#x3cadd is U+3CADD).
func charRef(s string, i int) (rune, int) {
	if i >= len(s) || s[i] != '#' {
		return -1, 0
	}
	j, base := i+1, rune(10)
	if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
		j, base = j+1, 16
	}
	start, v := j, rune(0)
	for ; j < len(s); j++ {
		d := hexDigit(s[j])
		if d < 0 || d >= base {
			break
		}
		if v <= unicode.MaxRune {
			v = v*base + d
		}
	}
	if j == start {
		return -1, 0
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	return v, j
}

// quoteRefAt is the length of a quote written as a character reference
// at the start of s, as is or escaped again (&#034;, &#x0027;,
// &amp;#039;, \u0026#039;: leading zeros, which xmlQuotes does not list;
// PHP's htmlspecialchars writes ' as &#039;), or 0.
func quoteRefAt(s string) int {
	for _, amp := range []string{"&", "&amp;", `\u0026`} {
		if hasPrefixFold(s, amp) {
			if r, n := charRef(s, len(amp)); r == '"' || r == '\'' {
				return n
			}
		}
	}
	return 0
}

// hexDigit is the value of a hex digit, or -1.
func hexDigit(b byte) rune {
	switch {
	case b >= '0' && b <= '9':
		return rune(b - '0')
	case b >= 'a' && b <= 'f':
		return rune(b-'a') + 10
	case b >= 'A' && b <= 'F':
		return rune(b-'A') + 10
	}
	return -1
}

// xmlQuotes are the ways an attribute value is quoted, in each xmlForm
// (Go's escapers write &#34; and &#39;, Java's &apos;, Python's &#x27;,
// .NET's JSON encoder \u0022 and \u0027); \" before ".
var xmlQuotes = [...]string{
	`\"`, `"`, `'`, `\u0022`, `\u0027`,
	"&quot;", "&#34;", "&#x22;", "&apos;", "&#39;", "&#x27;",
	"&amp;quot;", "&amp;#34;", "&amp;apos;", "&amp;#39;",
	`\u0026quot;`, `\u0026#34;`, `\u0026apos;`, `\u0026#39;`,
}

// xmlTag is a start tag, an end tag or an empty-element tag; s[end:]
// follows it.
type xmlTag struct {
	end     int
	form    int
	name    string
	closing bool // </name>
	empty   bool // <name/>
	open    bool // s ends inside the tag
	attrs   []xmlAttr
}

// xmlAttr is an attribute; its value is s[v0:v1] (open: to the end of s).
type xmlAttr struct {
	name   string
	v0, v1 int
	open   bool
}

// xmlScan walks s once, collecting the spans to redact.
type xmlScan struct {
	s     string
	spans [][2]int
	// The current run of text-only sibling elements: whether a name in
	// it (or its parent's name attribute) is a secret's, and the texts
	// of its value elements.
	secret bool
	values [][2]int
	// cdata[f]: the last end of a CDATA section of form f looked for
	// (cdataEnd).
	cdata [len(xmlForms)]cdataSeen
	// walked (secretElements, once it reads a text again for elements
	// because it did not end with an end tag): where the text read by
	// textAfter(t, true) from the markup at a position ends, by that
	// position and t's form; a text read again stops at markup read
	// before instead of going over the same CDATA sections again (a
	// secret element in each of many sections made the cost quadratic).
	walked map[[2]int]textStop
	passed []int
	// keyed: the last leaf of the current run is a key element naming a
	// secret; the leaf after it is its value if it is named by a property
	// list's type (<key>Password</key><string>…</string>).
	keyed bool
	// pairs: where elements end (see elementEnd), built on first use.
	pairs *xmlPairs
	// later[f]: the values of form f holding elements read before a
	// secret's name (see scan), innermost last. Tags of different forms
	// do not pair (pairXML), so each form has its own: one stack for all
	// let a value of another form opened inside one and never closed
	// (XML quoted escaped and cut in its string) hide its end tag.
	later [len(xmlForms)][]laterValue
}

// laterValue is a value element holding elements met before the name of
// its run (XML-RPC's <member><value><string>…</string></value><name>
// password</name></member>): its start tag t, at p; run is the values its
// run held before it.
type laterValue struct {
	p   int
	t   xmlTag
	run [][2]int
}

// textStop is what textAfter answers.
type textStop struct {
	end  int
	next xmlTag
	cut  bool
}

// cdataSeen: the first cdataClose at or after any position of s in
// [from, to] is at end, -1 for none (then to is len(s)).
type cdataSeen struct{ from, to, end int }

func newXMLScan(s string) *xmlScan {
	x := &xmlScan{s: s}
	for f := range x.cdata {
		x.cdata[f] = cdataSeen{from: 1, to: 0} // none yet: [1, 0] is empty
	}
	return x
}

// redact is s with the spans collected replaced; spans that overlap are
// replaced as one.
func (x *xmlScan) redact() string {
	s := x.s
	if len(x.spans) == 0 {
		return s
	}
	sort.Slice(x.spans, func(i, j int) bool { return x.spans[i][0] < x.spans[j][0] })
	var b strings.Builder
	last := 0
	for _, sp := range x.spans {
		if sp[0] < last {
			last = max(last, sp[1])
			continue
		}
		b.WriteString(s[last:sp[0]])
		b.WriteString(redacted)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func (x *xmlScan) scan() {
	s := x.s
	for i := 0; ; {
		p, f := nextXMLMarkup(s, i)
		if p < 0 {
			break
		}
		t, ok := parseXMLTag(s, p, f)
		if !ok {
			i = p + xmlForms[f].ltAt(s[p:])
			continue
		}
		if x.attrPairs(t) {
			break // the value runs to the end
		}
		if t.open {
			// s ends inside the tag, or a quote in it is never
			// closed: not a tag, a '<' in prose perhaps. Each quote
			// is looked for to the end at most once (none follows).
			i = p + xmlForms[f].ltAt(s[p:])
			continue
		}
		if t.closing {
			x.flush(false)
			x.valueEnds(p, t)
			i = t.end
			continue
		}
		if t.empty {
			i = t.end
			continue
		}
		// A start tag: a leaf when what follows is text (and CDATA
		// sections) up to its own end tag.
		textEnd, next, cut := x.textAfter(t, false)
		if cut {
			// To the end; markup inside a CDATA section that never
			// ends is read all the same (it may not be one).
			x.leaf(t, t.end, len(s))
			i = textEnd
			continue
		}
		if next.closing && next.form == t.form && (strings.EqualFold(next.name, t.name) || next.open) {
			x.leaf(t, t.end, textEnd)
			i = next.end
			continue
		}
		local := xmlLocal(t.name)
		named := x.keyed && isPlistValueName(local) || x.namesOwnText(t)
		if x.secret && isValueName(local) || named && next.form != t.form {
			// The value of a secret's name holds elements (XML-RPC's
			// <value><string>…</string></value>), or the text a key
			// names holds markup of another form, escaped text read as
			// elements (Java's storeToXML and plistlib write
			// p&lt;Qa&gt;9x; elements of its own form are a parent's,
			// Spring's <entry key="…"><ref bean="…"/>): a value of the
			// run, to its end tag, which does not end the run (a value
			// after it is the pair's too, as once it reads [REDACTED]).
			if e := x.elementEnd(p, t); e >= 0 {
				x.leaf(t, t.end, e)
				i = e
				if n, ok := parseXMLTag(s, e, t.form); ok && n.closing {
					i = n.end
				}
				continue
			}
		}
		if !x.secret && isValueName(local) {
			// Such a value before its name: what it holds is read
			// for pairs, as any parent's children, and at its end tag
			// it is a value of its run again, hidden whole if a
			// secret's name follows it.
			x.later[t.form] = append(x.later[t.form], laterValue{p, t, x.values})
			x.values = nil
		}
		// A parent: its children start a new run, named by its own
		// key or name attribute if it has one.
		x.flush(x.namesChildren(t))
		i = textEnd
	}
	x.flush(false)
}

// valueEnds is called at an end tag c at p, once its run is flushed: if
// it ends a value of its form holding elements read before its name
// (later[c.form]), the run it was read in goes on, that value in it. Only an end tag of a value's
// form and name is checked against the elements' pairs (elementEnd), so
// they are built for no other (most texts need none: BenchmarkRedact
// XMLNameValues); a value whose element ended before (never closed, or
// not one) is dropped then.
func (x *xmlScan) valueEnds(p int, c xmlTag) {
	local := xmlLocal(c.name)
	if !isValueName(local) {
		return
	}
	later := &x.later[c.form]
	for len(*later) > 0 {
		v := (*later)[len(*later)-1]
		e := x.elementEnd(v.p, v.t)
		if e > p {
			return // c closes an element inside v
		}
		*later = (*later)[:len(*later)-1]
		if e == p && strings.EqualFold(xmlLocal(v.t.name), local) {
			x.values = append(v.run, [2]int{v.t.end, p})
			return
		}
	}
}

// textAfter reads the text after start tag t: where it ends and the tag
// that ends it, or cut when s ends inside it; then end is where markup
// may be read again (len(s), or inside a CDATA section that never ends).
// With own, only a tag of t's form or a raw one ends the text: escaped
// markup of another form is text (a raw password holding '<' and '>' is
// written p&lt;Qa&gt;9x), a raw tag is the markup of the document that
// quotes an escaped one (<p>Send your &lt;password&gt; element</p>).
func (x *xmlScan) textAfter(t xmlTag, own bool) (end int, next xmlTag, cut bool) {
	r := x.readText(t, own)
	if x.walked != nil && own {
		for _, p := range x.passed {
			x.walked[[2]int{p, t.form}] = r
		}
	}
	x.passed = x.passed[:0]
	return r.end, r.next, r.cut
}

func (x *xmlScan) readText(t xmlTag, own bool) textStop {
	s := x.s
	for j := t.end; ; {
		p, f := nextXMLMarkup(s, j)
		if p < 0 {
			return textStop{len(s), xmlTag{}, true}
		}
		if x.walked != nil && own {
			if r, ok := x.walked[[2]int{p, t.form}]; ok {
				return r
			}
			x.passed = append(x.passed, p)
		}
		if form := xmlForms[f]; form.cdataOpenAt(s[p:]) > 0 {
			k := x.cdataEnd(p+form.cdataOpenAt(s[p:]), f)
			if k < 0 {
				return textStop{p + form.ltAt(s[p:]), xmlTag{}, true}
			}
			j = k + form.cdataCloseAt(s[k:])
			continue
		}
		n, ok := parseXMLTag(s, p, f)
		other := own && f != t.form && f != 0
		if !ok || other && n.open {
			j = p + xmlForms[f].ltAt(s[p:])
			continue
		}
		if other {
			j = n.end
			continue
		}
		return textStop{p, n, false}
	}
}

// cdataEnd is where the CDATA section of form f whose text starts at k
// ends (the start of its "]]>"), or -1. The last end found (or not found) is
// remembered: the scans read s from left to right, and the sections that
// start before that end (inside an earlier section, or one that never
// ends) are not looked for to it again.
func (x *xmlScan) cdataEnd(k, f int) int {
	if c := x.cdata[f]; c.from <= k && k <= c.to {
		return c.end
	}
	form := xmlForms[f]
	for j := k; ; {
		i := strings.Index(x.s[j:], "]]")
		if i < 0 {
			x.cdata[f] = cdataSeen{k, len(x.s), -1}
			return -1
		}
		if form.cdataCloseAt(x.s[j+i:]) > 0 {
			x.cdata[f] = cdataSeen{k, j + i, j + i}
			return j + i
		}
		j += i + 1
	}
}

// secretElements records the text of each element named as a secret
// key (see redactXMLSecretElements).
func (x *xmlScan) secretElements() {
	s := x.s
	for i := 0; ; {
		p, f := nextXMLMarkup(s, i)
		if p < 0 {
			return
		}
		i = p + xmlForms[f].ltAt(s[p:])
		t, ok := parseXMLTag(s, p, f)
		if !ok || t.closing || t.empty || t.open || !secretElementName.MatchString(xmlLocal(t.name)) {
			continue
		}
		end, next, cut := x.textAfter(t, true)
		// Its tag may be in a CDATA section that ends before its text
		// does (<![CDATA[<password>…]]></request>: XML quoted and cut):
		// the text ends with the section. Not when its own end tag ends
		// it, nor a tag of another form (nothing is hidden then): the
		// elements' pairs are built for no other.
		own := next.closing && strings.EqualFold(xmlLocal(next.name), xmlLocal(t.name))
		if cut || !own && next.form == t.form {
			if se := x.sectionEnd(p); se < len(s) && (cut || se < end) {
				x.add(t.end, se)
				continue
			}
		}
		if cut {
			x.add(t.end, len(s))
			return
		}
		if next.closing && next.form == t.form {
			x.add(t.end, end)
			i = end
			continue
		}
		// Else the text is read again for elements: a CDATA section
		// it skipped (of another form, perhaps), or escaped markup it
		// took for text, may hold one. The texts read from there on
		// remember where they end (walked).
		if x.walked == nil {
			x.walked = map[[2]int]textStop{}
		}
		if !next.closing {
			// It holds elements (<password><value>…</value>
			// </password>): hidden to its end tag. What it holds is
			// read on (a secret element in it is hidden anyway, and
			// one never closed may end at its parent's end tag).
			if e := x.elementEnd(p, t); e >= 0 {
				x.add(t.end, e)
			}
		}
	}
}

// leaf records the element t, whose text is s[a:b], in the current run.
func (x *xmlScan) leaf(t xmlTag, a, b int) {
	local := xmlLocal(t.name)
	keyed := false
	switch {
	case strings.EqualFold(local, "key") || strings.EqualFold(local, "name") || strings.EqualFold(local, "parameterkey"):
		if isSecretName(xmlText(x.s[a:b])) {
			x.secret = true
			keyed = strings.EqualFold(local, "key")
		}
	case isValueName(local):
		x.values = append(x.values, [2]int{a, b})
	case x.keyed && isPlistValueName(local):
		x.add(a, b)
	}
	x.keyed = keyed
	if x.namesOwnText(t) {
		x.add(a, b)
	}
}

// namesOwnText reports whether t has a key attribute that is a secret
// name and no value attribute: the key names the element's own text
// (<entry key="db.password">…</entry>).
func (x *xmlScan) namesOwnText(t xmlTag) bool {
	for _, at := range t.attrs {
		if strings.EqualFold(at.name, "value") {
			return false
		}
	}
	for _, at := range t.attrs {
		if strings.EqualFold(at.name, "key") && isSecretName(xmlText(x.s[at.v0:at.v1])) {
			return true
		}
	}
	return false
}

// flush ends the current run, redacting its values when a name in it is
// a secret's, and starts the next one (secret: named by its parent).
func (x *xmlScan) flush(secret bool) {
	if x.secret {
		for _, v := range x.values {
			x.add(v[0], v[1])
		}
	}
	x.secret, x.values, x.keyed = secret, x.values[:0], false
}

// isValueName: the local name of the element holding a pair's value.
func isValueName(local string) bool {
	return strings.EqualFold(local, "value") || strings.EqualFold(local, "parametervalue")
}

// isPlistValueName: the name of a property list's value holding text,
// its type; an S3 <Key> is followed by other elements (<RequestId>).
func isPlistValueName(local string) bool {
	switch strings.ToLower(local) {
	case "string", "data", "integer", "real", "date":
		return true
	}
	return false
}

// xmlPairs are the elements of s: where each start tag's element ends,
// and where the end tags are. The tags inside a CDATA section (a text
// holding '<', or XML quoted in XML: <![CDATA[<password>…</password>]]>)
// are paired among themselves, apart from those around the section (its
// scope): an end tag quoted in a CDATA text does not close the element
// around it.
type xmlPairs struct {
	// ends[p]: where the end tag closing the element whose start tag is
	// at p starts, for each start tag that has one.
	ends map[int]int
	// scopes[0] is s outside any CDATA section, scopes[k] the k-th
	// section (in order of their starts); in[p] the scope of the start
	// tag at p when it is inside a section.
	scopes []xmlScope
	in     map[int]int
}

// xmlScope is a part of s whose tags pair among themselves: its end is
// where its CDATA section's "]]>" starts (len(s) for s outside any, or a
// section that never ends); closing: where its end tags start, of every
// form, in order; outer[k]: the first start tag of the elements closed by
// closing[k:], -1 if one of them closes none.
type xmlScope struct {
	end            int
	closing, outer []int
}

// elementEnd is where the element whose start tag t is at p ends: the
// start of its end tag, or the end of its scope when that ends inside it
// (each end tag that follows in its scope closes an element it holds:
// Snippet's cut, or a cut in the XML a CDATA section quotes). An
// element without an end tag that is followed by another's end tag, in
// any form (a '<password>' in prose, an HTML page's unclosed tag, an
// escaped tag in an HTML page's prose), is not one: -1, and nothing is
// hidden, since hiding to its parent's end could hide the name of a
// later pair whose value then stays in clear.
func (x *xmlScan) elementEnd(p int, t xmlTag) int {
	if x.pairs == nil {
		x.pairs = pairXML(x.s)
	}
	if e, ok := x.pairs.ends[p]; ok {
		return e
	}
	sc := x.pairs.scopes[x.pairs.in[p]]
	if k := sort.SearchInts(sc.closing, t.end); k < len(sc.closing) && sc.outer[k] < p {
		return -1
	}
	return sc.end
}

// sectionEnd is where the CDATA section holding the start tag at p ends
// when no end tag closes its element (XML quoted in a section and cut
// there: <![CDATA[<password>…]]>), len(s) otherwise.
func (x *xmlScan) sectionEnd(p int) int {
	if x.pairs == nil {
		x.pairs = pairXML(x.s)
	}
	if _, ok := x.pairs.ends[p]; ok {
		return len(x.s)
	}
	return x.pairs.scopes[x.pairs.in[p]].end
}

// pairXML pairs the start and end tags of s, of each scope, form and
// local name (case aside) apart, as a stack each: one pass, linear. A
// CDATA section (of any form) opens a scope inside the current one when
// it ends before it, or, outside any section, never ends; each form's
// next "]]>" is looked for once (closes). The start tags still open when
// a section ends go on in the scope around it (a writer that wraps XML
// holding a CDATA section in another writes <![CDATA[<password><![CDATA[
// …]]>…</password>]]>: the first "]]>" ends the outer section); a scope
// is left at most once for each form around it, so each tag is moved a
// few times at most.
func pairXML(s string) *xmlPairs {
	type key struct {
		scope, form int
		name        string
	}
	px := &xmlPairs{ends: map[int]int{}, scopes: []xmlScope{{end: len(s)}}, in: map[int]int{}}
	open := map[key][]int{}
	keys := [][]key{nil} // keys[sc]: the keys of the tags opened in section sc
	stack := []int{0}
	// closes[f]: the first "]]>" of form f at or after from, -1 if none.
	type seen struct{ from, at int }
	var closes [len(xmlForms)]seen
	for f := range closes {
		closes[f] = seen{len(s) + 1, -1}
	}
	closeAfter := func(k, f int) int {
		c := closes[f]
		if k >= c.from && (c.at < 0 || c.at >= k) {
			return c.at
		}
		at := -1
		for j := k; ; {
			i := strings.Index(s[j:], "]]")
			if i < 0 {
				break
			}
			if xmlForms[f].cdataCloseAt(s[j+i:]) > 0 {
				at = j + i
				break
			}
			j += i + 1
		}
		closes[f] = seen{k, at}
		return at
	}
	for i := 0; ; {
		p, f := nextXMLMarkup(s, i)
		for len(stack) > 1 && (p < 0 || px.scopes[stack[len(stack)-1]].end <= p) {
			sc, parent := stack[len(stack)-1], stack[len(stack)-2]
			for _, k := range keys[sc] {
				if st := open[k]; len(st) > 0 {
					pk := key{parent, k.form, k.name}
					if parent != 0 && len(open[pk]) == 0 {
						keys[parent] = append(keys[parent], pk)
					}
					open[pk] = append(open[pk], st...)
				}
				delete(open, k)
			}
			keys[sc] = nil
			stack = stack[:len(stack)-1]
		}
		if p < 0 {
			break
		}
		sc := stack[len(stack)-1]
		if n := xmlForms[f].cdataOpenAt(s[p:]); n > 0 {
			q := closeAfter(p+n, f)
			if q < 0 {
				q = len(s)
			}
			if sc == 0 || q < px.scopes[sc].end {
				px.scopes = append(px.scopes, xmlScope{end: q})
				keys = append(keys, nil)
				stack = append(stack, len(px.scopes)-1)
			}
			i = p + n
			continue
		}
		t, ok := parseXMLTag(s, p, f)
		if !ok || t.open || t.empty {
			i = p + xmlForms[f].ltAt(s[p:])
			if ok && t.empty {
				i = t.end
			}
			continue
		}
		k := key{sc, f, strings.ToLower(xmlLocal(t.name))}
		if !t.closing {
			if sc != 0 && len(open[k]) == 0 {
				keys[sc] = append(keys[sc], k)
			}
			open[k] = append(open[k], p)
			if sc != 0 {
				px.in[p] = sc
			}
		} else {
			o := -1
			if st := open[k]; len(st) > 0 {
				o = st[len(st)-1]
				px.ends[o] = p
				open[k] = st[:len(st)-1]
			}
			px.scopes[sc].closing = append(px.scopes[sc].closing, p)
			px.scopes[sc].outer = append(px.scopes[sc].outer, o)
		}
		i = t.end
	}
	for _, sc := range px.scopes {
		for k := len(sc.outer) - 2; k >= 0; k-- {
			sc.outer[k] = min(sc.outer[k], sc.outer[k+1])
		}
	}
	return px
}

// attrPairs redacts the value attribute of a tag whose key or name
// attribute is a secret name (<add key="ApiKey" value="…"/>), and
// reports whether that value runs to the end of s (its quote is never
// closed: Snippet's cut).
func (x *xmlScan) attrPairs(t xmlTag) bool {
	if !x.namesChildren(t) {
		return false
	}
	toEnd := false
	for _, at := range t.attrs {
		if strings.EqualFold(at.name, "value") {
			x.add(at.v0, at.v1)
			toEnd = toEnd || at.open
		}
	}
	return toEnd
}

// namesChildren reports whether t has a key or name attribute that is a
// secret name.
func (x *xmlScan) namesChildren(t xmlTag) bool {
	for _, at := range t.attrs {
		if (strings.EqualFold(at.name, "key") || strings.EqualFold(at.name, "name")) && !at.open && isSecretName(xmlText(x.s[at.v0:at.v1])) {
			return true
		}
	}
	return false
}

// add marks s[a:b] for redaction unless it is blank or redacted already.
func (x *xmlScan) add(a, b int) {
	if v := strings.TrimSpace(x.s[a:b]); v == "" || v == redacted {
		return
	}
	x.spans = append(x.spans, [2]int{a, b})
}

// nextXMLMarkup finds the next '<' at or after i in any xmlForm: its
// position and form, or -1.
func nextXMLMarkup(s string, i int) (int, int) {
	for i < len(s) {
		k := strings.IndexAny(s[i:], "<&\\")
		if k < 0 {
			return -1, 0
		}
		p := i + k
		if s[p] == '<' {
			return p, 0
		}
		for f, form := range xmlForms {
			if form.lt[0] == s[p] && form.ltAt(s[p:]) > 0 {
				return p, f
			}
		}
		i = p + 1
	}
	return -1, 0
}

// parseXMLTag reads the tag whose '<' (in form f) is at s[p]; not ok when
// no tag starts there (a comment, a declaration, a '<' in prose).
func parseXMLTag(s string, p, f int) (xmlTag, bool) {
	form := xmlForms[f]
	t := xmlTag{form: f}
	j := p + form.ltAt(s[p:])
	if j < len(s) && s[j] == '/' {
		t.closing = true
		j++
	}
	k := j
	for k < len(s) && isXMLNameByte(s[k], k == j) {
		k++
	}
	if k == j {
		return t, false
	}
	t.name = s[j:k]
	for j = k; ; {
		j = skipXMLSpace(s, j)
		switch {
		case j >= len(s):
			t.end, t.open = len(s), true
			return t, true
		case form.tagEnd(s[j:]) > 0:
			t.end = j + form.tagEnd(s[j:])
			return t, true
		case !t.closing && s[j] == '/' && form.tagEnd(s[j+1:]) > 0:
			t.end, t.empty = j+1+form.tagEnd(s[j+1:]), true
			return t, true
		case t.closing:
			return t, false
		}
		k = j
		for k < len(s) && isXMLNameByte(s[k], k == j) {
			k++
		}
		if k == j {
			return t, false
		}
		at := xmlAttr{name: s[j:k]}
		j = skipXMLSpace(s, k)
		if j >= len(s) || s[j] != '=' {
			continue // an HTML attribute without a value
		}
		j = skipXMLSpace(s, j+1)
		q := ""
		for _, c := range xmlQuotes {
			if hasPrefixFold(s[j:], c) {
				q = s[j : j+len(c)] // its closing quote is written alike
				break
			}
		}
		if n := quoteRefAt(s[j:]); q == "" && n > 0 {
			q = s[j : j+n]
		}
		if q == "" {
			// Unquoted (HTML): to a space or the tag's end.
			at.v0 = j
			for j < len(s) && s[j] > ' ' && s[j] != '<' && form.tagEnd(s[j:]) == 0 {
				j++
			}
			at.v1 = j
		} else {
			at.v0 = j + len(q)
			e := strings.Index(s[at.v0:], q)
			if e < 0 {
				at.v1, at.open = len(s), true
				t.attrs = append(t.attrs, at)
				t.end, t.open = len(s), true
				return t, true
			}
			at.v1 = at.v0 + e
			j = at.v1 + len(q)
		}
		t.attrs = append(t.attrs, at)
	}
}

// skipXMLSpace skips white space in a tag, also as a JSON string writes
// it (\n, \r, \t).
func skipXMLSpace(s string, j int) int {
	for j < len(s) {
		switch {
		case s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n':
			j++
		case s[j] == '\\' && j+1 < len(s) && (s[j+1] == 'n' || s[j+1] == 'r' || s[j+1] == 't'):
			j += 2
		default:
			return j
		}
	}
	return j
}

// isXMLNameByte: a byte of an XML name (ASCII letters, digits, '_', ':',
// '.', '-'; any byte of a multi-byte character); first: its first byte.
func isXMLNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80:
		return true
	case c >= '0' && c <= '9' || c == '.' || c == '-':
		return !first
	}
	return false
}

// xmlLocal is a name without its namespace prefix.
func xmlLocal(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// xmlText is the text of a name: without a CDATA section's markers (in
// any xmlForm) and the white space around it (also as a JSON string
// writes it).
func xmlText(t string) string {
	t = strings.TrimSpace(trimJSONSpace(t))
	for _, form := range xmlForms {
		if o := form.cdataOpenAt(t); o > 0 {
			if c := strings.LastIndex(t, "]]"); c >= o && form.cdataCloseAt(t[c:]) == len(t)-c {
				return strings.TrimSpace(t[o:c])
			}
		}
	}
	return t
}

// trimJSONSpace removes \n, \r, \t escapes and white space at both ends.
func trimJSONSpace(t string) string {
	for {
		u := strings.TrimSpace(t)
		for _, e := range []string{`\n`, `\r`, `\t`} {
			u = strings.TrimSuffix(strings.TrimPrefix(u, e), e)
		}
		if u == t {
			return t
		}
		t = u
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
