package connector

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"unicode"

	"github.com/riposte-dev/riposte/internal/safefile"
)

// Vendors echo credentials in their error bodies (an OAuth token in an
// "invalid_token" answer, the Authorization header in a debug dump, an AWS
// secret in a signature error), and those bodies become activity errors:
// Temporal history, worker logs, the API. RedactShapes removes values that
// look like credentials even when Riposte never knew them; Redact also
// removes the exact values it did know (resolved secrets, fetched tokens).

// secretKeyValue: "access_token":"…", access_token=…, 'client_secret': '…',
// SecretAccessKey: …, X-Api-Key: … (JSON, form, header and log shapes),
// and {\"password\":\"…\"} (JSON quoted in a JSON string: a vendor echoing
// the request it refused). A quoted value is taken to its closing quote.
var secretKeyValue = regexp.MustCompile(`(?i)(` + secretKeyNames + `)(\\?"?'?\s*[:=]\s*)(` + escapedValue + `\\"|"(?:[^"\\]|\\.)*"|'[^']*'|` + objectValue + `|` + arrayValue + `|[^"'&,;\s{}\]\\][^"'&,;\s}\]]*(?:\s+[A-Za-z0-9\-._~+/]{8,}=*)?)`)

// objectValue: an object given as a secret key's value, {"value":"…"}
// (Okta's "credentials": {"password": {"value": "…"}}), with objects one
// level inside it ({"value":"…","hook":{"type":"default"}}): every string
// in it is the secret's, so it is redacted whole; also when the text ends
// inside it (Snippet's cut).
const objectValue = `\{(?:[^{}]|\{[^{}]*\})*(?:\}|$)`

// arrayValue: a JSON array of strings given as a secret key's value, as
// request headers are serialized by Go's http.Header and Spring's
// HttpHeaders ({"X-Api-Key":["…"]}, a gateway echoing the request it
// refused) or a form field sent as a list ({"password":["…"]}); also
// quoted in a JSON string ([\"…\"]) and when the text ends inside it. It
// is redacted whole.
const arrayValue = `\[\s*(?:"(?:[^"\\]|\\.)*(?:"\s*,\s*"(?:[^"\\]|\\.)*)*(?:"\s*\]|$)|` + escapedValue + `(?:\\"\s*,\s*` + escapedValue + `)*(?:\\"\s*\]|$))`

// escapedValue is the start of a string of JSON quoted in a JSON string,
// up to (not including) its closing \": an escaped quote inside it is \\\",
// an escaped backslash \\\\, another escape \\x.
const escapedValue = `\\"(?:\\\\(?:\\"|\\\\|[^"\\])|\\[^"\\]|[^"\\])*`

// secretKeyNames are the keys whose value secretKeyValue redacts. Their
// words may be joined by '_', '-' or '.' (client_secret, api-key, and
// the dotted names of Java and Hadoop properties: fs.s3a.secret.key).
const secretKeyNames = `(?:access|refresh|id|session|bearer|auth|api|csrf|xsrf|security)[_.-]?token|client[_.-]?secret|secret[_.-]?access[_.-]?key|aws[_.-]?secret[_.-]?access[_.-]?key|api[_.-]?key|apikey|x-api-key|password|passwd|private[_.-]?key|secret[_.-]?key|secret|authorization|ssws|` + vendorHeaderNames

// vendorHeaderNames are request headers that carry a credential: PAN-OS's
// X-PAN-KEY, GitLab's PRIVATE-TOKEN, Vault's X-Vault-Token, Azure API
// Management's Ocp-Apim-Subscription-Key, Cloudflare's X-Auth-Key, and
// cookies (a session cookie is a bearer credential; see cookieRest).
const vendorHeaderNames = `x-pan-key|private[_-]token|vault[_-]token|ocp-apim-subscription-key|x-auth-key|set-cookie|cookie`

// secretKeyOpenValue: a secret key whose quoted value is still open at the
// end of the text (text cut inside the value, which may hold spaces: a
// passphrase). secretKeyValue needs the closing quote, so it would leave
// the value's beginning as it is.
var secretKeyOpenValue = regexp.MustCompile(`(?i)(?:` + secretKeyNames + `)\\?"?'?\s*[:=]\s*(` + escapedValue + `|"(?:[^"\\]|\\.)*|'[^']*)$`)

// secretElementName: the local name of an XML element whose text is a
// credential: a secret key name, whole (<password>, <SessionToken>,
// <ns:ClientSecret>; not <PasswordPolicy>, nor AWS's <NextToken>, a
// cursor). redactXMLSecretElements hides the text, in every form.
var secretElementName = regexp.MustCompile(`(?i)^(?:` + secretKeyNames + `)$`)

// bearerShape: the value of an Authorization header in free text.
var bearerShape = regexp.MustCompile(`(?i)\b(bearer|basic|ssws|token)\s+([A-Za-z0-9\-._~+/]{8,}=*)`)

// pemPrivateKey: a private key in PEM (RFC 7468: PKCS #8 PRIVATE KEY and
// ENCRYPTED PRIVATE KEY, RSA and EC PRIVATE KEY, OPENSSH PRIVATE KEY, PGP
// PRIVATE KEY BLOCK), its lines broken by newlines or by \n escapes (a
// JSON string), up to its END line (group 2) or, cut, as far as its
// characters go; group 1 is the BEGIN line. Both lines are kept, so the
// error still says what was there.
var pemPrivateKey = regexp.MustCompile(`(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)(?:` + pemBody + `*?(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)|` + pemBody + `*)`)

// pemBody: a character of a PEM body: base64, line breaks (also escaped),
// and the Proc-Type and DEK-Info headers of a legacy encrypted key.
const pemBody = `[A-Za-z0-9+/=\s:,.\\-]`

// jwtShape: header.payload[.signature] of a JWS/JWT (base64url JSON).
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?`)

// slackTokenShape: a Slack token by its prefix (xoxb- bot, xoxp- user,
// xoxa-/xoxr- legacy, xoxe- refresh and configuration, xoxe.xoxp-
// rotating, xapp- app-level, xoxs-/xoxc-/xoxd- session and cookie, xwfp-
// workflow), wherever it is: Slack writes it under a bare "token", which
// is not a secret key name (a "next_token" is a cursor). The rest must
// hold a digit, so prose ("an xoxb- token", "xapp-level") is kept; '%'
// is a cookie's (xoxd-…%2F…).
var slackTokenShape = regexp.MustCompile(`\b(?:xox[a-z]|xapp|xwfp)(?:\.xox[a-z])?-[A-Za-z0-9%-]*[0-9][A-Za-z0-9%-]*`)

// vaultTokenShape: a HashiCorp Vault token by its prefix (hvs. service,
// hvb. batch, hvr. recovery), or a legacy service token, s. and 24
// letters and digits (checked by looksLikeAWSSecret: mixed case and
// digits, so "s.example" is kept).
var vaultTokenShape = regexp.MustCompile(`\bhv[sbr]\.[A-Za-z0-9_-]{20,}|\bs\.[A-Za-z0-9]{24}\b`)

// awsSecretShape: a 40-character AWS secret access key candidate; checked
// further by looksLikeAWSSecret (hex digests are not secrets).
var awsSecretShape = regexp.MustCompile(`[A-Za-z0-9/+]{40}`)

// urlUserinfo: the password of a URL's userinfo, scheme://user:password@host
// (RFC 3986 §3.2.1 deprecates it because it leaks; url.URL.Redacted hides
// it too): group 1 is up to the ':', group 2 the password, to the last
// '@' before the path, as url.Parse reads it (a password written with an
// unescaped '@', p@ssw0rd, is a whole password).
var urlUserinfo = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^/?#\s@:"'<>\\]*:)([^/?#\s"'<>\\]+)@`)

// queryCredential: a query (or form) parameter that carries a credential:
// the signature of a pre-signed URL, a bearer capability until it expires
// (AWS SigV4 X-Amz-Signature, Google Cloud Storage X-Goog-Signature, Azure
// Storage SAS sig), and the token=, code= (Azure Functions keys), key=
// and access_key= that vendors put API keys in. A value shorter than 16
// characters is not taken for one (a docs link's ?code=E0000001).
var queryCredential = regexp.MustCompile(`(?i)([?&](?:x-amz-signature|x-goog-signature|sig|signature|token|code|key|access_key|auth)=)([^&#\s"'<>\\]{16,})`)

const redacted = "[REDACTED]"

// RedactShapes replaces credential-shaped values in s (see above).
func RedactShapes(s string) string {
	if s == "" {
		return s
	}
	s = redactPEM(s)
	s = jwtShape.ReplaceAllString(s, redacted)
	s = slackTokenShape.ReplaceAllString(s, redacted)
	s = vaultTokenShape.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "s.") && !looksLikeAWSSecret(m[2:]) {
			return m
		}
		return redacted
	})
	s = urlUserinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := urlUserinfo.FindStringSubmatch(m)
		if sub[2] == redacted {
			return m
		}
		return sub[1] + redacted + "@"
	})
	s = queryCredential.ReplaceAllString(s, "${1}"+redacted)
	s = redactXMLSecretElements(s)
	s = redactNameValues(s)
	s = redactXMLNameValues(s)
	s = redactKeyValues(s)
	s = bearerShape.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerShape.FindStringSubmatch(m)
		if !hasDigitOrSymbol(sub[2]) {
			// "token expired", "Bearer realm": words, not credentials.
			return m
		}
		return sub[1] + " " + redacted
	})
	return replaceAWSSecrets(s)
}

// redactPEM replaces the body of each PEM private key (pemPrivateKey),
// one already replaced ("-----BEGIN … PRIVATE KEY-----[REDACTED]") left
// as it is.
func redactPEM(s string) string {
	locs := pemPrivateKey.FindAllStringSubmatchIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range locs {
		if strings.HasPrefix(s[m[3]:], redacted) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(s[m[2]:m[3]] + redacted)
		if m[4] >= 0 {
			b.WriteString(s[m[4]:m[5]])
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// redactKeyValues replaces the values secretKeyValue finds, except
// where the key does not label a value: a key inside an ARN naming a
// Secrets Manager secret (…:secret:prod/db-AbCdEf names WHICH secret,
// the analyst's lead, not its value), and a key that starts a sentence
// (Okta's errorCauses "password: Password requirements were not met."):
// see isProse.
func redactKeyValues(s string) string {
	if !secretKeyValue.MatchString(s) {
		return s
	}
	arns := secretARN.FindAllStringIndex(s, -1)
	var b strings.Builder
	last := 0
	// One match at a time: a value's second word that turns out to be
	// the next key (nextKeyAt) is given back, and the search goes on
	// from where the value ends.
	for pos := 0; pos < len(s); {
		m := secretKeyValue.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos
			}
		}
		if i := nextKeyAt(s, m[6], m[7]); i >= 0 {
			m[1], m[7] = i, i
		}
		pos = m[1]
		key, sep, v := s[m[2]:m[3]], s[m[4]:m[5]], s[m[6]:m[7]]
		if m[0] < last {
			continue // inside a passphrase already redacted
		}
		if rest := clauseRest(s[m[7]:]); inSpan(m[2], arns) || isProse(key, sep, v, rest) || isOSError(sep, v, rest) {
			continue
		}
		// A quoted value is replaced whole, quotes kept: a password may
		// hold the & or ; that end an unquoted (form or header) value.
		if v[0] == '{' {
			if !strings.HasPrefix(v, "{"+redacted+"}") {
				b.WriteString(s[last:m[0]])
				b.WriteString(key + sep + "{" + redacted + "}")
				last = m[1]
			}
			continue
		}
		// An array of strings (arrayValue) is replaced by one redacted
		// string; a '[' that opens no string is an unquoted value's
		// (Go's %v of a header map, a [REDACTED] already written).
		if inner := strings.TrimLeft(v[1:], " \t\r\n"); v[0] == '[' && (strings.HasPrefix(inner, `"`) || strings.HasPrefix(inner, `\"`)) {
			q := `"`
			if strings.HasPrefix(inner, `\"`) {
				q = `\"`
			}
			if w := "[" + q + redacted + q + "]"; v != w {
				b.WriteString(s[last:m[0]])
				b.WriteString(key + sep + w)
				last = m[1]
			}
			continue
		}
		end := m[1]
		if isCookie(key) && !strings.ContainsAny(v[:1], "\"'\\") {
			// "Cookie: a=…; b=…", "Set-Cookie: sid=…; Path=/": every
			// pair of the header is a cookie's.
			end += len(cookieRest.FindString(s[end:]))
		} else if sch := strings.TrimPrefix(v, "["); sch != "" && !strings.ContainsAny(sch, "\"'{[\\ \t\r\n") && (strings.EqualFold(key, "authorization") || authScheme.MatchString(sch)) {
			// "Authorization: Token token=…", "AWS4-HMAC-SHA256
			// Credential=…, Signature=…", "Digest …, response=\"…\"":
			// the auth-params after the scheme are its credentials.
			end += len(authParams.FindString(s[end:]))
		} else if isWords(v) && strings.Contains(sep, ":") && !strings.ContainsAny(sep, "=\"'") {
			// "password: Correct horse battery staple": the words that
			// follow a word-only value on its line are its own (a
			// passphrase), not prose (isProse said so).
			end += passphraseLen(s[end:])
		}
		q := ""
		if len(v) >= 4 && strings.HasPrefix(v, `\"`) {
			q = v[:2]
		} else if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			q = v[:1]
		}
		if strings.HasPrefix(strings.TrimPrefix(v, q), "[REDACTED") {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(key + sep + q + redacted + q)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// flatObject: a JSON object holding no object (plain, or quoted in a
// JSON string), also one the text ends inside (Snippet's cut).
var flatObject = regexp.MustCompile(`\{[^{}]*(?:\}|$)`)

// nameValueField: a field of a name/value pair (ECS and Kubernetes env,
// Azure app settings: name/value; AWS tags: Key/Value; CloudFormation:
// ParameterKey/ParameterValue): group 1 the field, group 2 its value, a
// string (also quoted in a JSON string, or open at the end) or a scalar.
var nameValueField = regexp.MustCompile(`(?i)\\?"(name|key|parameterkey|value|parametervalue)\\?"\s*:\s*(` + escapedValue + `(?:\\"|$)|"(?:[^"\\]|\\.)*(?:"|$)|[^\s,"\\{}\[\]]+)`)

// secretName: a name that is a secret key name (secretKeyNames) to its
// end, the rule secretKeyValue applies to a key: DB_PASSWORD, API_KEY,
// OKTA_CLIENT_SECRET are; PASSWORD_FILE (a path) is not.
var secretName = regexp.MustCompile(`(?i)(?:` + secretKeyNames + `)$`)

// secretEnvName: a setting's name ending in the word TOKEN (GITHUB_TOKEN,
// NPM_TOKEN, token, GithubToken): an environment variable or setting so
// named holds a credential. A key so named may be a cursor ("next_token"),
// so only a name/value pair's name is read by this rule.
var secretEnvName = regexp.MustCompile(`(?:^|[_.-])(?i:token)$|[a-z0-9]Token$`)

// isSecretName reports whether the name of a name/value pair (JSON or
// XML) is a secret's: a secret key name to its end (secretName) or a
// setting's name ending in the word TOKEN (secretEnvName). Both rules
// read only the end of a name, so a long one is matched by its last
// secretNameTail bytes: a text taken for a name may be the rest of the
// text (an XML name whose CDATA section never ends), once per such name,
// and matching it whole made the scan quadratic
// (BenchmarkRedactXMLAdversarial).
func isSecretName(name string) bool {
	if len(name) > secretNameTail {
		name = name[len(name)-secretNameTail:]
	}
	return secretName.MatchString(name) || secretEnvName.MatchString(name)
}

// secretNameTail is more than the longest match of secretName and
// secretEnvName and the byte before it (26 ASCII letters; (?i) also folds
// k and s to 3-byte K and ſ), and a tail that long cannot match
// secretEnvName's ^token$.
const secretNameTail = 128

// redactNameValues hides the value of a name/value pair whose name is a
// secret name ({"name":"API_KEY","value":"…"}, in either order): neither
// "name" nor "value" is a secret key, so secretKeyValue leaves it.
func redactNameValues(s string) string {
	return flatObject.ReplaceAllStringFunc(s, func(obj string) string {
		fields := nameValueField.FindAllStringSubmatchIndex(obj, -1)
		secret := false
		for _, f := range fields {
			if n := strings.ToLower(obj[f[2]:f[3]]); n == "name" || n == "key" || n == "parameterkey" {
				name := strings.Trim(obj[f[4]:f[5]], `"\`)
				secret = secret || isSecretName(name)
			}
		}
		if !secret {
			return obj
		}
		var b strings.Builder
		last := 0
		for _, f := range fields {
			if n := strings.ToLower(obj[f[2]:f[3]]); n != "value" && n != "parametervalue" {
				continue
			}
			v := obj[f[4]:f[5]]
			q, closing := "", ""
			switch {
			case strings.HasPrefix(v, `\"`):
				q = `\"`
			case strings.HasPrefix(v, `"`):
				q = `"`
			}
			if q != "" && len(v) > len(q) && strings.HasSuffix(v, q) {
				closing = q
			}
			if strings.TrimPrefix(v, q) == redacted+closing {
				continue
			}
			b.WriteString(obj[last:f[4]])
			b.WriteString(q + redacted + closing)
			last = f[5]
		}
		b.WriteString(obj[last:])
		return b.String()
	})
}

// authParams: the auth-params after an Authorization scheme (RFC 9110
// §11.4: name=token or name="quoted", comma-separated).
var authParams = regexp.MustCompile(`^[ \t]+` + authParam + `(?:[ \t]*,[ \t]*` + authParam + `)*`)

const authParam = `[A-Za-z0-9!#$%&*+.^_|~-]+[ \t]*=[ \t]*(?:"(?:[^"\\]|\\.)*"|[^\s,"\]]+)`

// cookieRest: the rest of an unquoted cookie header's value, to the end
// of its line (or of its JSON string or %v list).
var cookieRest = regexp.MustCompile(`^[^\r\n"'\\\]}]*`)

func isCookie(key string) bool {
	return strings.EqualFold(key, "cookie") || strings.EqualFold(key, "set-cookie")
}

// passphraseWord: a word after a word-only value on its line.
var passphraseWord = regexp.MustCompile(`^[ \t]+[A-Za-z]+\b`)

// passphraseLen: the length of the words at the start of rest that are
// a passphrase's (passphraseWord), up to a word that is the next key
// ("password: hunter passwd=…", "password: hunter username: bob"): that
// word and its value are not the passphrase's.
func passphraseLen(rest string) int {
	n := 0
	for {
		w := passphraseWord.FindString(rest[n:])
		if w == "" || n+len(w) < len(rest) && (rest[n+len(w)] == '=' || rest[n+len(w)] == ':') {
			return n
		}
		n += len(w)
	}
}

// nextKeyAt: where an unquoted value s[start:end] must end when its
// second word (the token after "Bearer" that secretKeyValue takes
// with it) is the next pair's key: "api_key=abc123 password=hunter2",
// "api_key: abc123 password: hunter2" (logfmt, logs). Taken as the
// value's, it hid the key and its '=', and left that key's value in
// clear. -1 when the value has no such word.
func nextKeyAt(s string, start, end int) int {
	v := s[start:end]
	if v == "" || strings.ContainsAny(v[:1], "\"'{[\\") {
		return -1
	}
	i := strings.IndexAny(v, " \t\r\n")
	if i < 0 {
		return -1
	}
	word := strings.TrimLeft(v[i:], " \t\r\n")
	next := byte(0)
	if end < len(s) {
		next = s[end]
	}
	if next == ':' || next == '=' || strings.HasSuffix(word, "=") && next != 0 && !strings.ContainsRune(" \t\r\n&,;}])", rune(next)) {
		return start + i
	}
	return -1
}

// isWords: one or more words of letters only.
func isWords(v string) bool {
	f := strings.Fields(v)
	for _, w := range f {
		if hasDigitOrSymbol(w) {
			return false
		}
	}
	return len(f) > 0
}

// osErrors are the texts of the operating system's errors (syscall.Errno:
// "permission denied", "is a directory", "no such file or directory") and
// of io/fs's.
var osErrors = func() map[string]bool {
	m := map[string]bool{}
	for i := 1; i < 256; i++ {
		if t := syscall.Errno(i).Error(); t != "" && !strings.HasPrefix(t, "errno ") {
			m[t] = true
		}
	}
	for _, err := range []error{fs.ErrInvalid, fs.ErrPermission, fs.ErrExist, fs.ErrNotExist, fs.ErrClosed} {
		m[err.Error()] = true
	}
	return m
}()

// osErrorText: a lowercase text an OS error may be, to the end of its
// clause.
var osErrorText = regexp.MustCompile(`^[a-z][a-z /-]*[a-z](?:$|[;),.'"\r\n])`)

// isOSError reports whether an unquoted value after "key: " is, to the
// end of its clause, the text of an OS error: Go writes a failed open as
// "open /run/secrets/okta_api_token: permission denied", and secrets are
// mounted as files named after them; the error is the operator's lead
// (why the secret is unavailable), not a secret. Quoted values and
// key=value stay redacted.
func isOSError(sep, v, rest string) bool {
	if strings.ContainsAny(sep, "=\"'") || !strings.Contains(sep, ":") || v == "" {
		return false
	}
	t := osErrorText.FindString(v + rest)
	if t == "" {
		return false
	}
	return osErrors[strings.TrimRight(t, ";),.'\"\r\n")]
}

// secretARN: the ARN of a Secrets Manager secret (any partition), which
// names the secret: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf.
var secretARN = regexp.MustCompile(`arn:aws[a-z-]*:secretsmanager:[a-z0-9-]*:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+`)

// authScheme: an HTTP authentication scheme starting a value.
var authScheme = regexp.MustCompile(`(?i)^(?:bearer|basic|ssws|token|digest|negotiate|ntlm|aws4-hmac-sha256)\b`)

// inSpan reports whether i is inside one of spans (sorted, disjoint:
// FindAllStringIndex's), by binary search: a text with many ARNs and
// many keys is not read once per key.
func inSpan(i int, spans [][]int) bool {
	j := sort.Search(len(spans), func(j int) bool { return spans[j][1] > i })
	return j < len(spans) && i >= spans[j][0]
}

// clauseRest is what isProse and isOSError read after a value: the rest
// of its line, at most restScan bytes (both patterns stop at a line
// break, and need a few words). Handing them the whole rest of the text
// copied it once per key: a 1 MB header dump or log took a minute.
func clauseRest(rest string) string {
	if i := strings.IndexAny(rest, "\r\n"); i >= 0 {
		rest = rest[:i+1]
	}
	if len(rest) > restScan {
		rest = rest[:restScan]
	}
	return rest
}

// restScan bounds clauseRest.
const restScan = 1024

// proseValue: the start of a sentence: a capitalized word of letters,
// then three more words on its line ("Password requirements were not
// met", "Passwords must be at least 8 characters"): the next line is
// another text, not the rest of the sentence.
var proseValue = regexp.MustCompile(`^[A-Z][a-z]+(?:[ \t]+[A-Za-z]+){3}\b`)

// proseWords are words a sentence about a field has and a passphrase of
// random words (diceware: "Correct horse battery staple") rarely does.
var proseWords = map[string]bool{
	"is": true, "was": true, "were": true, "are": true, "be": true, "been": true, "not": true,
	"must": true, "cannot": true, "should": true, "does": true, "did": true, "has": true, "have": true,
	"the": true, "this": true, "that": true, "an": true, "of": true, "in": true, "with": true,
	"already": true, "too": true, "at": true, "least": true, "requirements": true,
}

// isProse reports whether an unquoted value after "key: " is the start of
// a sentence that mentions the key rather than a value the key labels:
// Okta's errorCauses are "<field>: <sentence>". Only the "key: " shape of
// prose and logs qualifies: a quoted key or value ("password": "…"), a
// form or query value (password=…) and a value holding a digit or a
// symbol (password: Hunter2024 was rejected) stay redacted, and the
// sentence needs four words, two of them words sentences use (proseWords):
// a passphrase of capitalized random words ("password: Correct horse
// battery staple") stays hidden. What stays ambiguous: a letters-only
// password followed by free text with such words ("password: Hunter was
// not accepted here") is shown; a vendor writes a labelled password
// quoted or as key=value, and Riposte also replaces every secret it
// resolved whatever its shape (Redact).
func isProse(key, sep, v, rest string) bool {
	if strings.EqualFold(key, "authorization") || authScheme.MatchString(v) {
		return false // Authorization: Bearer abcdefgh … is a credential
	}
	if strings.ContainsAny(sep, "=\"'") || !strings.Contains(sep, ":") || v == "" || v[0] == '"' || v[0] == '\'' || v[0] == '\\' {
		return false
	}
	m := proseValue.FindString(v + rest)
	if m == "" {
		return false
	}
	n := 0
	for _, w := range strings.Fields(strings.ToLower(m)) {
		if proseWords[w] {
			n++
		}
	}
	return n >= 2
}

func replaceAWSSecrets(s string) string {
	locs := awsSecretShape.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		// Exactly 40 characters: not part of a longer token.
		if (l[0] > 0 && isKeyChar(s[l[0]-1])) || (l[1] < len(s) && isKeyChar(s[l[1]])) || !looksLikeAWSSecret(s[l[0]:l[1]]) {
			continue
		}
		// A path whose file name (CamelCase words and digits, then an
		// extension) ends it: playbooks/IR/PlaybookV2ConfigFinal.yaml.
		if ext := fileExtAfter.FindString(s[l[1]:]); ext != "" && safefile.IsFileName(path.Base(s[l[0]:l[1]])+ext) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(redacted)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// fileExtAfter: a file extension (.yaml, .PDF) right after a candidate.
var fileExtAfter = regexp.MustCompile(`^\.(?:[a-z][a-z0-9]{0,4}|[A-Z][A-Z0-9]{0,4})\b`)

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '+'
}

// looksLikeAWSSecret: mixed case and digits, as AWS secret keys are; a hex
// digest (one case) or a word run is not.
func looksLikeAWSSecret(v string) bool {
	var up, low, dig bool
	for _, r := range v {
		switch {
		case unicode.IsUpper(r):
			up = true
		case unicode.IsLower(r):
			low = true
		case unicode.IsDigit(r):
			dig = true
		}
	}
	return up && low && dig
}

func hasDigitOrSymbol(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) })
}

// Redact replaces every known secret value (resolved secrets, fetched
// OAuth tokens) in s, then every credential-shaped value (RedactShapes):
// it is for messages that may quote a vendor's answer.
func Redact(s string, secrets []string) string {
	return RedactShapes(redactKnown(s, secrets))
}

// redactKnown replaces the known secret values only, as written and as
// a vendor quoting them writes them (knownForms).
func redactKnown(s string, secrets []string) string {
	return replaceForms(s, allForms(secrets))
}

// allForms: the knownForms of every secret of 4 characters or more.
func allForms(secrets []string) []string {
	var forms []string
	for _, v := range secrets {
		if len(v) >= 4 {
			forms = append(forms, knownForms(v)...)
		}
	}
	return forms
}

func replaceForms(s string, forms []string) string {
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, redacted)
	}
	return s
}

// knownForms: v, then v as a JSON string's text (encoding/json: '"', '\'
// and controls escaped, '&', '<', '>' as \u0026…; PHP's json_encode also
// writes '/' as '\/') and percent-encoded (a request URL or form body
// echoed: %2F, %2B, %3D), each form once.
func knownForms(v string) []string {
	forms := []string{v}
	add := func(f string) {
		for _, g := range forms {
			if g == f {
				return
			}
		}
		forms = append(forms, f)
	}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		if e.Encode(v) == nil {
			j := strings.TrimSuffix(strings.TrimSpace(b.String()), `"`)[1:]
			add(j)
			add(strings.ReplaceAll(j, "/", `\/`))
		}
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	return forms
}

// RedactValue scrubs the known secret values from an action's output. It
// does not apply RedactShapes: outputs hold ids and digests that may look
// like keys.
func RedactValue(v any, secrets []string) any {
	return redactValue(v, allForms(secrets))
}

func redactValue(v any, forms []string) any {
	switch x := v.(type) {
	case string:
		return replaceForms(x, forms)
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, forms)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, forms)
		}
		return x
	}
	return v
}
