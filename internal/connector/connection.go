package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/safefile"
)

// ConnectionType describes what a connection of one type needs in
// riposte.yaml. The config loader validates against it; handlers read
// defaults from it.
type ConnectionType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// DefaultBaseURL is used when base_url is omitted; "" = base_url required.
	DefaultBaseURL string `json:"default_base_url,omitempty"`
	// BaseURLOptional: the type needs no base_url (an SDK picks endpoints).
	BaseURLOptional bool              `json:"base_url_optional,omitempty"`
	Fields          []ConnectionField `json:"fields"`
}

// ConnectionField is one key of a connection besides type and base_url.
type ConnectionField struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Secret fields must be secret references ({env: NAME} or {file: PATH});
	// the others are plain strings where ${VAR} is interpolated.
	Secret   bool `json:"secret,omitempty"`
	Required bool `json:"required,omitempty"`
	// RequiredUnless makes a required field optional when the named field
	// is set (defender/entra: tenant_id unless token_url).
	RequiredUnless string `json:"required_unless,omitempty"`
	URL            bool   `json:"url,omitempty"`
	Default        string `json:"default,omitempty"`
	Example        string `json:"example,omitempty"`
	// Check, when set, vets a plain field's value (after ${VAR}) as the
	// config loader reads it; its error, which names the key ("tag …"),
	// is reported at the value after "connection NAME: ".
	Check func(value string) error `json:"-"`
}

// Field returns the named field of the type.
func (t ConnectionType) Field(name string) (ConnectionField, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ConnectionField{}, false
}

// --- secrets ---

// IsZero reports whether the reference points nowhere.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" && r.Lab == "" }

// String describes the reference, never the value.
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		if EnvLooksLikeSecret(r.Env) {
			return "env:" + hiddenEnv
		}
		return "env:" + r.Env
	case r.File != "":
		if FileLooksLikeSecret(r.File) {
			return "file:" + hiddenFile
		}
		return "file:" + r.File
	case r.Lab != "":
		return "lab:(literal)"
	}
	return "(none)"
}

// GoString keeps %#v from printing a lab literal.
func (r SecretRef) GoString() string { return "connector.SecretRef(" + r.String() + ")" }

// LogValue keeps slog from printing a lab literal.
func (r SecretRef) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON writes the reference only; a lab literal is hidden.
func (r SecretRef) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	switch {
	case r.Env != "":
		m["env"] = r.Env
		if EnvLooksLikeSecret(r.Env) {
			m["env"] = hiddenEnv
		}
	case r.File != "":
		m["file"] = r.File
		if FileLooksLikeSecret(r.File) {
			m["file"] = hiddenFile
		}
	case r.Lab != "":
		m["lab"] = "(hidden)"
	}
	return json.Marshal(m)
}

// hiddenEnv stands for an {env: NAME} value that is not printed.
const hiddenEnv = "(name not shown: it looks like a secret)"

// describeEnv is "env var NAME" for an error, or, when NAME looks like a
// secret pasted where its var's name belongs (EnvLooksLikeSecret), words
// that say so without printing it.
func describeEnv(name string) string {
	if EnvLooksLikeSecret(name) {
		return "the env var named there " + hiddenEnv
	}
	return "env var " + name
}

// EnvLooksLikeSecret reports whether the name of an {env: NAME} secret
// reference reads like a secret pasted where the name belongs: many
// secrets are valid env var names (a CrowdStrike client secret of 40
// letters and digits, a hex API key starting with a letter); the rule is
// safefile.LooksLikeSecret, as for {file: PATH}.
func EnvLooksLikeSecret(name string) bool { return safefile.LooksLikeSecret(name) }

// hiddenFile stands for a {file: PATH} value that is not printed.
const hiddenFile = "(path not shown: it looks like a secret)"

// DescribeFile is "file PATH" for an error, or, when PATH looks like a
// secret pasted where its file's path belongs (FileLooksLikeSecret), words
// that say so without printing it.
func DescribeFile(path string) string {
	if FileLooksLikeSecret(path) {
		return "the file named there " + hiddenFile
	}
	return "file " + path
}

func pastedHint(path string) string {
	if FileLooksLikeSecret(path) {
		return "; if that is the secret itself, put it in a file (mode 0400) and write {file: /run/secrets/NAME}, or in an env var and write {env: NAME}"
	}
	return ""
}

// FileLooksLikeSecret reports whether the value of a {file: PATH} secret
// reference reads like a secret pasted where its path belongs
// (client_secret: {file: sk_live_…}); the rule is safefile.LooksLikeSecret.
func FileLooksLikeSecret(v string) bool { return safefile.LooksLikeSecret(v) }

// ErrSecretUnavailable is wrapped by Resolve's errors.
var ErrSecretUnavailable = errors.New("secret unavailable")

// Resolve reads the secret value now. Errors name the reference, never a
// value.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return "", fmt.Errorf("%w: %s is not set", ErrSecretUnavailable, describeEnv(r.Env))
		}
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%w: %s is empty", ErrSecretUnavailable, describeEnv(r.Env))
		}
		return strings.TrimSpace(v), nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%w: %s does not exist%s", ErrSecretUnavailable, DescribeFile(r.File), pastedHint(r.File))
			}
			return "", fmt.Errorf("%w: reading %s: %v%s", ErrSecretUnavailable, DescribeFile(r.File), errors.Unwrap(err), pastedHint(r.File))
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%w: %s is empty", ErrSecretUnavailable, DescribeFile(r.File))
		}
		return v, nil
	case r.Lab != "":
		return r.Lab, nil
	}
	return "", fmt.Errorf("%w: no env var or file given", ErrSecretUnavailable)
}

// --- picking a connection for a call ---

// ConnectionParam is the optional param every connector takes.
func ConnectionParam(typ string) catalog.Param {
	return catalog.Param{
		Name: "connection", Type: catalog.TypeString,
		Description: fmt.Sprintf("Name of the %s connection in riposte.yaml; default: the connection named %q, else the only %s connection.", typ, typ, typ),
	}
}

// pickConnection finds the connection a call should use: the `connection`
// param, else the connection named like the type, else the only one of
// that type. Every failure is non-retryable: config does not fix itself.
func pickConnection(env *Env, call Call, typ string, required bool) (string, Connection, error) {
	conns := env.Connections
	if v, ok := call.Params["connection"]; ok && v != nil && fmt.Sprint(v) != "" {
		name, ok := v.(string)
		if !ok {
			return "", Connection{}, InvalidParam("connection must be a string, got %T", v)
		}
		c, ok := conns[name]
		if !ok {
			return "", Connection{}, NewFailure(KindNoConnection, fmt.Sprintf("connection %q is not configured%s", name, listConns(conns, typ)))
		}
		if c.Type != typ {
			return "", Connection{}, NewFailure(KindNoConnection, fmt.Sprintf("connection %q has type %s; %s needs a %s connection", name, c.Type, call.Action, typ))
		}
		return name, c, nil
	}
	if required {
		return "", Connection{}, InvalidParam("%s needs the connection param: the name of a %s connection in riposte.yaml%s", call.Action, typ, listConns(conns, typ))
	}
	if c, ok := conns[typ]; ok && c.Type == typ {
		return typ, c, nil
	}
	var names []string
	for n, c := range conns {
		if c.Type == typ {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "", Connection{}, NewFailure(KindNoConnection, fmt.Sprintf("no %s connection is configured; add one under connections: in riposte.yaml (type: %s)", typ, typ))
	case 1:
		return names[0], conns[names[0]], nil
	}
	return "", Connection{}, NewFailure(KindNoConnection, fmt.Sprintf("%d %s connections are configured (%s) and none is named %q; set the step's connection param", len(names), typ, strings.Join(names, ", "), typ))
}

func listConns(conns map[string]Connection, typ string) string {
	var names []string
	for n, c := range conns {
		if c.Type == typ {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf(" (no %s connection is configured)", typ)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (%s connections: %s)", typ, strings.Join(names, ", "))
}

// Vendor is one vendor connector: its connection type and its actions.
// activities/connections.go lists one per vendor folder.
type Vendor struct {
	Type        ConnectionType
	Definitions func() []Definition
	// Check makes a harmless read with a connection (token fetch plus one
	// lookup) for riposte connections check; nil when the vendor has none.
	Check VendorFunc
	// Needs names the permissions or scopes the actions need, shown when
	// a check is refused and in docs/actions.md.
	Needs string
	// Docs is the vendor's docs fragment, activities/<vendor>/README.md
	// (embedded): a "# Title" line, then what the connector does and the
	// vendor documentation it follows. docs/actions.md is generated from
	// it and the catalog.
	Docs string
}

// CheckResult is what a connection check found.
type CheckResult struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"` // ok, failed, skipped
	Detail string `json:"detail"`
	// Kind is the failure kind (AuthFailed, NotFound, NetworkError, …).
	Kind  string `json:"kind,omitempty"`
	Needs string `json:"needs,omitempty"`
}

// CheckConnection runs the vendor's check against one configured
// connection, with the same error handling and redaction as actions.
func CheckConnection(ctx context.Context, env *Env, name string, cfg Connection, v Vendor) CheckResult {
	res := CheckResult{Name: name, Type: cfg.Type}
	if v.Check == nil {
		res.Status, res.Detail = "skipped", "no harmless read call exists for this vendor; checked when an action runs"
		return res
	}
	c := &Conn{Env: env, Name: name, Cfg: cfg, Type: v.Type, Call: Call{Action: "connections.check", Params: map[string]any{}}, Label: v.Type.Name}
	out, err := v.Check(ctx, c)
	if err != nil {
		res.Status, res.Detail = "failed", Redact(err.Error(), c.knownSecrets())
		var f *Failure
		if errors.As(err, &f) {
			res.Kind = f.kind
		}
		if res.Kind == KindAuth {
			res.Needs = v.Needs
		}
		return res
	}
	res.Status = "ok"
	if d, ok := out["detail"].(string); ok {
		res.Detail = Redact(d, c.knownSecrets())
	}
	return res
}

// Folder is the vendor's folder below the module root (e.g.
// activities/httpreq), read from the package of its Definitions func.
func (v Vendor) Folder() string {
	name := runtime.FuncForPC(reflect.ValueOf(v.Definitions).Pointer()).Name()
	pkg := name[:strings.LastIndex(name, ".")]
	const module = "github.com/riposte-dev/riposte/"
	return strings.TrimPrefix(pkg, module)
}

// Undoable declares a contain action and its undo that take the same
// params, give the same outputs and run one handler in opposite
// directions (contain/lift, suspend/unsuspend, block/unblock): each names
// the other as its undo.
type Undoable struct {
	Type    ConnectionType
	Label   string // vendor name in messages
	Params  []catalog.Param
	Outputs []catalog.Field
	Do      Half
	Undo    Half
}

// Half is one direction of an Undoable.
type Half struct {
	Name, Description string
	Run               func(context.Context, *Conn) (map[string]any, error)
}

// Definitions returns the two catalog entries with their handlers.
func (u Undoable) Definitions() []Definition {
	def := func(h, other Half) Definition {
		return Definition{
			Action: catalog.Action{Name: h.Name, Vendor: u.Type.Name, Risk: catalog.RiskContain, Undo: other.Name,
				Description: h.Description, Params: u.Params, Outputs: u.Outputs},
			Run: Run(u.Type, u.Label, false, h.Run),
		}
	}
	return []Definition{def(u.Do, u.Undo), def(u.Undo, u.Do)}
}

// ConnectionOutput is the output every connector action has: the name of
// the connection it used.
func ConnectionOutput() catalog.Field {
	return catalog.Field{Name: "connection", Type: catalog.TypeString, Description: "Connection used."}
}
