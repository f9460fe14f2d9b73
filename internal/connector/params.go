package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
)

// --- call params ---

func Param(call Call, name string) (any, bool) {
	v, ok := call.Params[name]
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

func RequireString(call Call, name string) (string, error) {
	v, ok := Param(call, name)
	if !ok {
		return "", InvalidParam("%s needs the %s param", call.Action, name)
	}
	s, isStr := v.(string)
	if !isStr {
		return "", InvalidParam("%s: %s must be a string, got %T", call.Action, name, v)
	}
	return strings.TrimSpace(s), nil
}

func OptString(call Call, name, def string) (string, error) {
	if _, ok := Param(call, name); !ok {
		return def, nil
	}
	return RequireString(call, name)
}

func OptInt(call Call, name string, def int) (int, error) {
	v, ok := Param(call, name)
	if !ok {
		return def, nil
	}
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, InvalidParam("%s: %s must be a whole number, got %v", call.Action, name, n)
		}
		return int(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, InvalidParam("%s: %s must be a whole number, got %s", call.Action, name, n)
		}
		return int(i), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return 0, InvalidParam("%s: %s must be a whole number, got %q", call.Action, name, n)
		}
		return i, nil
	}
	return 0, InvalidParam("%s: %s must be a whole number, got %T", call.Action, name, v)
}

func OptStringList(call Call, name string) ([]string, error) {
	v, ok := Param(call, name)
	if !ok {
		return nil, nil
	}
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, isStr := e.(string)
			if !isStr {
				return nil, InvalidParam("%s: %s must be a list of strings, found %T", call.Action, name, e)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return []string{l}, nil
	}
	return nil, InvalidParam("%s: %s must be a list of strings, got %T", call.Action, name, v)
}

func OptObject(call Call, name string) (map[string]any, error) {
	v, ok := Param(call, name)
	if !ok {
		return nil, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, InvalidParam("%s: %s must be an object, got %T", call.Action, name, v)
	}
	return m, nil
}

// RequireIP returns the named param parsed as an IPv4 or IPv6 address,
// an IPv4-mapped IPv6 address (::ffff:203.0.113.7, as dual-stack sockets
// and Windows logon events write an IPv4 peer) as the IPv4 address it is:
// a reputation service asked about the mapped form knows nothing of it,
// and its empty answer reads as clean.
func RequireIP(call Call, name string) (netip.Addr, error) {
	s, err := RequireString(call, name)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, InvalidParam("%s: %q is not an IP address", call.Action, s)
	}
	if a.Zone() != "" {
		// fe80::1%eth0 names an interface of this machine, not an address
		// a vendor can look up or block.
		return netip.Addr{}, InvalidParam("%s: %q has an IPv6 zone (%%%s); give the address without it", call.Action, s, a.Zone())
	}
	return a.Unmap(), nil
}

// ValidHostname accepts the names EDRs report: letters, digits, dot, dash
// and underscore. It also keeps quotes out of FQL/OData filters.
func ValidHostname(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

func RequireHostname(call Call) (string, error) {
	h, err := RequireString(call, "hostname")
	if err != nil {
		return "", err
	}
	if !ValidHostname(h) {
		return "", InvalidParam("%s: hostname %q is not a valid host name (letters, digits, dots, dashes, underscores)", call.Action, h)
	}
	return h, nil
}

// DotSegment reports whether s is "." or "..": a value that, escaped
// into a URL path (url.PathEscape keeps dots), names the directory or its
// parent to any server or proxy that removes dot segments (RFC 3986
// 5.2.4), not an object.
func DotSegment(s string) bool { return s == "." || s == ".." }

// --- idempotency ---

// IdemKey is the call's idempotency key, or one derived from its identity.
func IdemKey(call Call) string {
	if call.IdempotencyKey != "" {
		return call.IdempotencyKey
	}
	if call.WorkflowID != "" {
		return fmt.Sprintf("%s/%s/%d", call.WorkflowID, call.StepID, call.Index)
	}
	return ""
}

// ShortHash is the first n hex digits of sha256(s).
func ShortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	if n > len(h) {
		n = len(h)
	}
	return h[:n]
}

// ScheduledTime is when the workflow first scheduled this activity (the
// same for every retry), if ctx is an activity context.
func ScheduledTime(ctx context.Context) (time.Time, bool) {
	if !activity.IsActivity(ctx) {
		return time.Time{}, false
	}
	t := activity.GetInfo(ctx).ScheduledTime
	return t, !t.IsZero()
}
