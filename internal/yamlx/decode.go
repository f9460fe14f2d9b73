package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Budgets every decoder gets unless it asks for others.
const (
	// DefaultMaxBytes bounds a YAML file.
	DefaultMaxBytes = 1 << 20
	// DefaultMaxNodes bounds the nodes of a document once its aliases are
	// expanded: a few hundred bytes of nested anchors ("billion laughs")
	// would otherwise expand to billions of values in whatever walks them.
	DefaultMaxNodes = 100_000
)

// Options tune Decode.
type Options struct {
	MaxBytes int // 0: DefaultMaxBytes
	MaxNodes int // 0: DefaultMaxNodes
	// SecondDocument is the message for a second YAML document in the file
	// (default "the file holds one YAML document; found a second").
	SecondDocument string
}

// Reporter collects the diagnostics of one file. Src, when set, gives every
// diagnostic its caret snippet.
type Reporter struct {
	File  string
	Src   []byte
	Diags Diagnostics
}

// At records a diagnostic at line:col.
func (r *Reporter) At(sev Severity, line, col int, msg string) {
	if line < 1 {
		line, col = 1, 1
	}
	if col < 1 {
		col = 1
	}
	if sev == "" {
		sev = SeverityError
	}
	if r.Src != nil {
		// yaml.v3 places an implicit null at the end of the file on the
		// "line" after it; keep positions inside the source.
		if last := bytes.Count(bytes.TrimSuffix(r.Src, []byte("\n")), []byte("\n")) + 1; line > last {
			line, col = last, 1
		}
	}
	r.Diags = append(r.Diags, Diagnostic{File: r.File, Line: line, Col: col, Severity: sev, Message: msg, Snippet: Snippet(r.Src, line, col)})
}

// Errorf records an error at n (the top of the file when n is nil or has
// no position).
func (r *Reporter) Errorf(n *yaml.Node, format string, args ...any) {
	line, col := Pos(n)
	r.At(SeverityError, line, col, fmt.Sprintf(format, args...))
}

// Warnf records a warning at n.
func (r *Reporter) Warnf(n *yaml.Node, format string, args ...any) {
	line, col := Pos(n)
	r.At(SeverityWarning, line, col, fmt.Sprintf(format, args...))
}

// Pos is n's line and column, or 1:1 when n has none.
func Pos(n *yaml.Node) (int, int) {
	if n == nil || n.Line < 1 {
		return 1, 1
	}
	return n.Line, n.Column
}

// Decode reads the one YAML document of src within the budgets of opts.
// root is nil when the file holds no document (empty, or only comments);
// ok is false when the file cannot be used (too large, a syntax error, an
// alias expansion over budget). Every problem goes to r.
func Decode(r *Reporter, src []byte, opts Options) (root *yaml.Node, ok bool) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxNodes <= 0 {
		opts.MaxNodes = DefaultMaxNodes
	}
	if opts.SecondDocument == "" {
		opts.SecondDocument = "the file holds one YAML document; found a second"
	}
	if len(src) > opts.MaxBytes {
		if r.Src == nil {
			r.Src = src
		}
		r.Errorf(nil, "file is %d bytes; the limit is %d", len(src), opts.MaxBytes)
		return nil, false
	}
	if lf := loneCR(src); lf != nil {
		// Diagnostics count lines by LF: read the file with each lone
		// CR as the LF it stands for (values are the same: YAML folds
		// every line end to LF).
		if r.Src == nil || bytes.Equal(r.Src, src) {
			r.Src = lf
		}
		src = lf
	}
	if r.Src == nil {
		r.Src = src
	}
	work, restore := textBreaks(src)
	dec := yaml.NewDecoder(bytes.NewReader(work))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		r.syntax(err, work)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.Errorf(&extra, "%s", opts.SecondDocument)
	} else if !errors.Is(err, io.EOF) {
		r.syntax(err, work)
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	root = doc.Content[0]
	if restore != nil {
		restoreText(root, restore)
	}
	if n, at := Expanded(root, opts.MaxNodes); n > opts.MaxNodes {
		r.Errorf(at, "aliases expand the document to more than %d values (the limit); refusing it (a \"billion laughs\" file?)", opts.MaxNodes)
		return nil, false
	}
	return root, true
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// endOfStream is yaml.v3's scanner error for a quoted string left open.
const endOfStream = "found unexpected end of stream"

// parserErrors are the messages of yaml.v3's parser (parserc.go), whose
// line numbers it reports 0-based; its scanner's are 1-based already.
var parserErrors = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// loneCR returns src with each CR that is not followed by LF (a line end
// of a classic Mac file, or one stray in an LF file: YAML, yaml.v3 and
// editors end a line there) replaced by LF, or nil when there is none.
// Callers that keep src for positions take Reporter.Src after Decode.
func loneCR(src []byte) []byte {
	var out []byte
	for i := bytes.IndexByte(src, '\r'); i >= 0; {
		if i+1 >= len(src) || src[i+1] != '\n' {
			if out == nil {
				out = bytes.Clone(src)
			}
			out[i] = '\n'
		}
		j := bytes.IndexByte(src[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return out
}

// textBreaks returns src with NEL (U+0085), LINE SEPARATOR (U+2028) and
// PARAGRAPH SEPARATOR (U+2029) each replaced by a private-use character
// src does not hold, and the replacer that puts them back, or src and nil
// when it has none. yaml.v3 breaks lines at them, as YAML 1.1 did; YAML
// 1.2, JSON, git and editors do not, so after one every position was a line
// off, a quoted value had it folded into a space and a plain one broke.
// Each is one character either way, so lines and columns stay those of src.
func textBreaks(src []byte) ([]byte, *strings.Replacer) {
	seps := []string{"\u0085", "\u2028", "\u2029"}
	found := false
	for _, sep := range seps {
		found = found || bytes.Contains(src, []byte(sep))
	}
	if !found {
		return src, nil
	}
	var to, back []string
	for c := rune(0xE000); c <= 0xF8FF && len(to) < 2*len(seps); c++ {
		if ph := string(c); !bytes.Contains(src, []byte(ph)) {
			sep := seps[len(to)/2]
			to, back = append(to, sep, ph), append(back, ph, sep)
		}
	}
	if len(to) < 2*len(seps) {
		return src, nil // no free private-use character: leave it to yaml.v3
	}
	return []byte(strings.NewReplacer(to...).Replace(string(src))), strings.NewReplacer(back...)
}

// restoreText puts back in every value and comment of the tree the
// characters textBreaks replaced. It walks the parsed nodes once (an alias
// is not followed: its anchor is in the tree).
func restoreText(n *yaml.Node, rep *strings.Replacer) {
	if n == nil {
		return
	}
	n.Value = rep.Replace(n.Value)
	n.HeadComment = rep.Replace(n.HeadComment)
	n.LineComment = rep.Replace(n.LineComment)
	n.FootComment = rep.Replace(n.FootComment)
	for _, c := range n.Content {
		restoreText(c, rep)
	}
}

// syntax records a yaml.v3 error as "YAML syntax: ..." at its line. src is
// the source yaml.v3 read (see textBreaks).
func (r *Reporter) syntax(err error, src []byte) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col := 1
		switch {
		case parserErrors[m[2]]:
			line++
			if l, c, ok := problemLine(src, msg, line); ok && l != line {
				line, col = l, c
			}
		case strings.Contains(m[2], "tab character"):
			// The scanner names the line of the scalar it was scanning
			// when the tab is on a later one; the column is the tab's.
			if l, _, ok := problemLine(src, msg, line); ok {
				line = l
			}
			col = tabColumn(src, line)
		default:
			// A scanner error: yaml.v3 gives its line (that of the
			// quoted scalar it was scanning, for an escape on a later
			// line of it), never its column.
			if l, c, ok := problemChar(src, msg, m[2], line); ok {
				line, col = l, c
			} else if m[2] == endOfStream {
				// yaml.v3 names the quote's line, except for a quote on
				// line 1 (its 0, "no line"), where it names the end of the
				// file: find the quote from the top, whatever line a
				// prefix's error names.
				same := func(e string) bool {
					em := yamlLineRe.FindStringSubmatch(e)
					return em != nil && em[2] == endOfStream
				}
				if l, c, ok := problemCharBy(src, same, m[2], 1); ok {
					line, col = l, c
				}
			}
		}
		r.At(SeverityError, line, col, "YAML syntax: "+m[2]+tokenHint(src, m[2], line, col))
		return
	}
	text := strings.TrimPrefix(msg, "yaml: ")
	line, col := 1, 1
	if m := unknownAnchorRe.FindStringSubmatch(msg); m != nil {
		// yaml.v3 gives this one no position: find the alias.
		line, col = aliasPos(src, m[1])
	} else if l, c, what, ok := badChar(src); ok && readerErrors[text] {
		// A byte that is not UTF-8 (a file saved as Latin-1 or
		// Windows-1252) or a control character: yaml.v3's reader
		// gives it no position at all.
		line, col = l, c
		text += " (" + what + ")"
	} else if l, c, ok := problemChar(src, msg, text, 1); ok && !parserErrors[text] {
		// A scanner error on the first line, which yaml.v3 does not
		// number.
		line, col = l, c
		text += tokenHint(src, text, line, col)
	}
	r.At(SeverityError, line, col, "YAML syntax: "+text)
}

// readerErrors are the messages of yaml.v3's reader (readerc.go) about the
// bytes of a UTF-8 file; it reports them with no position.
var readerErrors = map[string]bool{
	"invalid leading UTF-8 octet":        true,
	"incomplete UTF-8 octet sequence":    true,
	"invalid trailing UTF-8 octet":       true,
	"invalid length of a UTF-8 sequence": true,
	"invalid Unicode character":          true,
	"control characters are not allowed": true,
}

// badChar finds the first byte sequence of src that is not UTF-8, or the
// first character YAML does not allow in a file (C0 controls other than
// tab and line ends, DEL, C1 controls other than NEL, surrogates, U+FFFE
// and U+FFFF), and says what it is. ok is false for a UTF-16 file (yaml.v3
// reads those too) or when there is none.
func badChar(src []byte) (line, col int, what string, ok bool) {
	if bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) {
		return 0, 0, "", false
	}
	line, col = 1, 1
	i := 0
	if bytes.HasPrefix(src, []byte(bom)) {
		i = len(bom) // yaml.v3 reads the mark as no column
	}
	for i < len(src) {
		c, size := utf8.DecodeRune(src[i:])
		switch {
		case c == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("byte 0x%02X is not UTF-8; save the file as UTF-8", src[i]), true
		case !yamlPrintable(c):
			return line, col, fmt.Sprintf("character U+%04X", c), true
		case c == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return 0, 0, "", false
}

// yamlPrintable is YAML's set of characters a file may hold (c-printable),
// as yaml.v3's reader checks it.
func yamlPrintable(c rune) bool {
	return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
		(c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF)
}

// problemChar finds the character a scanner error is about. yaml.v3 gives
// a scanner error a line (line, the first one the search starts from) but
// no column; the scanner stops at the character that breaks the token, so
// the shortest prefix of the source, in whole characters and ended by a
// line break, that fails with the same error ends with that character. An escape error points at the
// backslash that starts the escape; an unexpected end of the stream, at
// the quote of the string left open. ok is false when only the whole
// source fails.
func problemChar(src []byte, msg, text string, line int) (l, c int, ok bool) {
	return problemCharBy(src, func(e string) bool { return e == msg }, text, line)
}

// problemCharBy is problemChar with the test of a prefix's error: same
// reports whether it is the error being placed.
func problemCharBy(src []byte, same func(string) bool, text string, line int) (l, c int, ok bool) {
	start := 0 // byte offset of line
	for n := 1; n < line; n++ {
		i := bytes.IndexByte(src[start:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		start += i + 1
	}
	var cuts []int // prefix ends to try: after each character from start
	for i := start; i < len(src); {
		_, size := utf8.DecodeRune(src[i:])
		i += size
		cuts = append(cuts, i)
	}
	fails := func(end int) bool {
		// Ended by a line break, not by the end of the stream, which the
		// scanner reads as one more character: `"a\` alone would be an
		// unknown escape wherever the backslash is.
		prefix := append(src[:end:end], '\n')
		dec := yaml.NewDecoder(bytes.NewReader(prefix))
		for range 2 {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return !errors.Is(err, io.EOF) && same(err.Error())
			}
		}
		return false
	}
	if len(cuts) == 0 || !fails(len(src)) {
		return 0, 0, false
	}
	lo, hi := 0, len(cuts)-1 // the answer is in [lo, hi]: the whole source fails
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(cuts[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == len(cuts)-1 {
		return 0, 0, false // only the whole source fails: the end of it
	}
	at := start // the offset of the character the error is about
	if lo > 0 {
		at = cuts[lo-1]
	}
	if (strings.Contains(text, "escape") || strings.Contains(text, "hexdecimal")) && at > 0 && src[at-1] == '\\' && src[at] != '\\' {
		at-- // `\x4g`: the escape's backslash, not the letter after it
	}
	l, c = TextPos(strings.TrimPrefix(string(src[:at]), bom)) // yaml.v3 reads the mark as no column
	return l, c, true
}

var unknownAnchorRe = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// sourceLines splits src into lines without their line ends.
func sourceLines(src []byte) []string {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// cannotStart is yaml.v3's message for a character that cannot start a
// token, whichever it is.
const cannotStart = "found character that cannot start any token"

// tokenHint names the character a "cannot start any token" error is at:
// a tab (invisible in the snippet), or an @ or a backtick starting a
// plain value (Slack's @channel, a Markdown code span).
func tokenHint(src []byte, msg string, line, col int) string {
	if msg != cannotStart {
		return ""
	}
	// Lines end at LF, CRLF or a lone CR, as the diagnostics count them.
	text := strings.TrimPrefix(string(src), "\ufeff")
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	n := 1
	for _, c := range lines[line-1] {
		if n == col {
			switch c {
			case '\t':
				return " (a tab: YAML indents with spaces only)"
			case '@', '`':
				return " (" + string(c) + " cannot start a plain value: quote the value)"
			}
			return ""
		}
		n++
	}
	return ""
}

// tabColumn is the column of the first tab on line (1 when none).
func tabColumn(src []byte, line int) int {
	if lines := sourceLines(src); line >= 1 && line <= len(lines) {
		if i := strings.IndexByte(lines[line-1], '\t'); i >= 0 {
			return utf8.RuneCountInString(lines[line-1][:i]) + 1
		}
	}
	return 1
}

// aliasPos is the position of the first alias *name outside comments, or
// 1:1 when there is none.
func aliasPos(src []byte, name string) (int, int) {
	for n, l := range sourceLines(src) {
		for from := 0; ; {
			i := strings.Index(l[from:], "*"+name)
			if i < 0 {
				break
			}
			i += from
			end := i + 1 + len(name)
			before := i == 0 || strings.IndexByte(" \t[{,:-?", l[i-1]) >= 0
			after := end == len(l) || strings.IndexByte(" \t,]}", l[end]) >= 0
			if c := strings.Index(l, " #"); (c >= 0 && c < i) || strings.HasPrefix(strings.TrimLeft(l, " \t"), "#") {
				break // the rest of the line is a comment
			}
			if before && after {
				return n + 1, utf8.RuneCountInString(l[:i]) + 1
			}
			from = i + 1
		}
	}
	return 1, 1
}

// problemLine finds the line a parser error is about. yaml.v3 reports a
// parser error at the line of the construct being parsed (a step's
// mapping, line ctx), not at the token that broke it; the first prefix of
// the source, in whole lines, that fails with the same error ends on the
// line of that token. The column is the line's first non-blank one (the
// caller keeps column 1 when the line was right all along).
func problemLine(src []byte, msg string, ctx int) (line, col int, ok bool) {
	starts := []int{0} // byte offset of each line
	for i, b := range src {
		if b == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	n := len(starts)
	if ctx < 1 || ctx > n {
		return 0, 0, false
	}
	prefix := func(k int) []byte { // the first k lines
		if k >= n {
			return src
		}
		return src[:starts[k]]
	}
	fails := func(k int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(prefix(k)))
		for range 2 {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return !errors.Is(err, io.EOF) && err.Error() == msg
			}
		}
		return false
	}
	lo, hi := ctx, n // the answer is in [lo, hi]; the whole source fails
	if !fails(hi) {
		return 0, 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	text := string(prefix(lo)[starts[lo-1]:])
	col = 1
	for _, c := range text {
		if c != ' ' && c != '\t' {
			break
		}
		col++
	}
	return lo, col, true
}

// Expanded counts the nodes of n with every alias expanded, stopping once
// the count passes limit. When it does, at is the alias (or, without
// aliases, the node) where the expansion is largest, for the diagnostic.
// It runs in time linear in the parsed nodes whatever the aliases expand to.
func Expanded(n *yaml.Node, limit int) (count int, at *yaml.Node) {
	sizes := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if s, ok := sizes[n]; ok {
			return s
		}
		s := 1
		if depth > 10_000 { // yaml.v3 nests at most 10,000 deep; an alias loop would not end
			s = limit + 1
		} else if n.Kind == AliasNode {
			s = size(n.Alias, depth+1)
		} else {
			for _, c := range n.Content {
				s += size(c, depth+1)
				if s > limit {
					s = limit + 1
					break
				}
			}
		}
		sizes[n] = s
		return s
	}
	count = size(n, 0)
	if count <= limit {
		return count, nil
	}
	// Walk down the largest branch to the first alias on it.
	at = n
	for i := 0; i < 10_000 && at.Kind != AliasNode && len(at.Content) > 0; i++ {
		next := at.Content[0]
		for _, c := range at.Content {
			if sizes[c] > sizes[next] {
				next = c
			}
		}
		at = next
	}
	return count, at
}

// Node kinds, re-exported so that callers of the helpers need not import
// yaml.v3 for the common checks.
const (
	MappingNode  = yaml.MappingNode
	SequenceNode = yaml.SequenceNode
	ScalarNode   = yaml.ScalarNode
	AliasNode    = yaml.AliasNode
)
