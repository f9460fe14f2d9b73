// Package signing seals human decisions where Riposte authenticated them
// (the API with a person's token, the Slack app with Slack's signature) so
// the workflow can tell them from decisions that reached Temporal any other
// way (tctl, the frontend's HTTP API, a gRPC client): an HMAC-SHA256 over the
// run, the gate, the decision, the identity, the channel and the time, with
// a key only `riposte serve` and `riposte worker` hold. The key never enters
// workflow history; the seal (key id, time, MAC) does, and verifying it is a
// pure function, so replays give the same answer.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/codec"
)

// Kinds of sealed requests.
const (
	KindDecide   = "decide"
	KindExtend   = "extend"
	KindSafeMode = "safe_mode"
	KindRollback = "rollback"
	// KindRolledBack marks a run rolled back (the API tells the run after
	// starting the rollback).
	KindRolledBack = "rolled_back"
	// KindFinding is a later record of a run's finding (an update or a
	// withdrawal) delivered by the intake.
	KindFinding = "finding"
)

// Environment variables naming a dedicated decision key (same JSON format
// as the codec key file). Without them the keys are derived from the codec
// keys.
const (
	EnvKeyFile = "RIPOSTE_DECISION_KEY_FILE"
	EnvKeys    = "RIPOSTE_DECISION_KEYS"
)

// label separates decision keys from any other key derived from the same
// material.
const label = "riposte decision signing v1"

// Errors wrapped by Verify.
var (
	// ErrUnsigned: the request carries no seal (it did not come through
	// Riposte's API, CLI or Slack app).
	ErrUnsigned = errors.New("unsigned decision")
	// ErrForged: the seal does not verify (wrong key, altered field).
	ErrForged = errors.New("forged decision")
	// ErrStale: the seal was made more than MaxAge before (or after) the
	// time it is checked at (see Fresh).
	ErrStale = errors.New("stale signed request")
	// ErrReplayed: the seal was already used once (the workflow that
	// checks it remembers the seals it accepted).
	ErrReplayed = errors.New("replayed signed request")
)

// MaxAge is how far a seal's time may be from the workflow's clock when it
// is used: the API and the Slack app sign a request just before sending
// it, so an older seal is a copy (for instance read back from a history)
// being sent again. It also tolerates that much clock skew between the
// signer and the Temporal server.
const MaxAge = 10 * time.Minute

// Claim is what a seal covers.
type Claim struct {
	Kind string
	// Run is the workflow id of the run ("RUN" in the CLI).
	Run string
	// Gate is the gate (step) id, or the step of an extension; empty for
	// safe mode and rollback.
	Gate string
	// Decision is approve/deny, an extension's duration, on/off.
	Decision string
	// Identity is the authenticated person (a Slack user id).
	Identity string
	// Channel is how the decision arrived (slack, api), set by the signer.
	Channel string
	// Reason and MessageTS are covered too so nothing of the request can
	// be changed on the way.
	Reason    string
	MessageTS string
	// Credential names what authenticated Identity ("token:<id>",
	// "oidc:<subject>", "slack:<workspace>"), for the audit trail. Covered
	// only when set, so a claim without it keeps the MAC it had before
	// the field existed (workers of earlier releases verify those).
	Credential string
	// RunID is the run (Temporal's run id) the request was sealed for, so
	// a copy sent to a later run under the same workflow id (a reopened
	// finding) does not count there. Covered only when set, like
	// Credential: workers of earlier releases verify claims without it.
	RunID string
}

// Seal is the signature stored with a request.
type Seal struct {
	KeyID string    `json:"key_id"`
	At    time.Time `json:"at"`
	MAC   string    `json:"mac"`
}

// Keys signs and verifies. The zero value and nil refuse everything.
type Keys struct {
	active string
	keys   map[string][]byte
	// retired: seals of these keys made after the time are refused.
	retired map[string]time.Time
}

// NewKeys builds a key set; active must be among keys.
func NewKeys(active string, keys map[string][]byte) (*Keys, error) {
	if _, ok := keys[active]; !ok || len(keys[active]) < 16 {
		return nil, fmt.Errorf("signing: active key %q missing or shorter than 16 bytes", active)
	}
	cp := make(map[string][]byte, len(keys))
	for id, k := range keys {
		cp[id] = append([]byte(nil), k...)
	}
	return &Keys{active: active, keys: cp}, nil
}

// FromCodec derives the decision keys from the payload encryption keys.
func FromCodec(k *codec.Keyring) *Keys {
	active, keys := k.DeriveKeys(label)
	return &Keys{active: active, keys: keys, retired: k.Retired()}
}

// FromEnv reads RIPOSTE_DECISION_KEY_FILE or RIPOSTE_DECISION_KEYS; ok is
// false when neither is set. Setting both is an error (as for the codec's
// variables): one would be ignored without a word.
func FromEnv() (_ *Keys, ok bool, err error) {
	var ring *codec.Keyring
	switch {
	case strings.TrimSpace(os.Getenv(EnvKeyFile)) != "" && strings.TrimSpace(os.Getenv(EnvKeys)) != "":
		return nil, true, fmt.Errorf("decision signing key: both %s and %s are set; set only one", EnvKeyFile, EnvKeys)
	case strings.TrimSpace(os.Getenv(EnvKeyFile)) != "":
		ring, err = codec.LoadSecretKeyring(strings.TrimSpace(os.Getenv(EnvKeyFile)))
	case strings.TrimSpace(os.Getenv(EnvKeys)) != "":
		// Reuse the codec's parser through its environment variable
		// contract: write nothing, parse in memory.
		ring, err = codec.ParseKeyring([]byte(os.Getenv(EnvKeys)), EnvKeys)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("decision signing key: %w", err)
	}
	return FromCodec(ring), true, nil
}

// Sign seals c with the active key at time at.
func (k *Keys) Sign(c Claim, at time.Time) *Seal {
	if k == nil || k.keys == nil {
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	return &Seal{KeyID: k.active, At: at, MAC: base64.RawStdEncoding.EncodeToString(mac(k.keys[k.active], c, at))}
}

// Verify checks s against c. It is deterministic (workflow code calls it).
func (k *Keys) Verify(c Claim, s *Seal) error {
	if s == nil || s.MAC == "" {
		return fmt.Errorf("%w: decisions are taken only through Riposte (API with a personal token, CLI or Slack), not sent to Temporal directly", ErrUnsigned)
	}
	if k == nil || k.keys == nil {
		return fmt.Errorf("%w: this worker holds no decision key", ErrForged)
	}
	key, ok := k.keys[s.KeyID]
	if !ok {
		return fmt.Errorf("%w: unknown signing key %q", ErrForged, clip(s.KeyID))
	}
	// Strict and canonical: a MAC has exactly one accepted spelling, since
	// the MAC string is what the "each seal once" checks remember (lenient
	// base64 ignores \r and \n and spare trailing bits, so a replay could
	// be re-spelled past them).
	got, err := base64.RawStdEncoding.Strict().DecodeString(s.MAC)
	if err != nil || base64.RawStdEncoding.EncodeToString(got) != s.MAC || !hmac.Equal(got, mac(key, c, s.At.UTC().Truncate(time.Microsecond))) {
		return fmt.Errorf("%w: the signature does not match the decision", ErrForged)
	}
	return nil
}

// Retired refuses a seal of a key the key set retired at or before
// received, the time the request reached its run (workflow code passes
// workflow.Now, or the run's start for its input): a retired key still
// decrypts old payloads but authorizes nothing new. Judged by receipt, not
// by the seal's date, which whoever holds the key writes. Deterministic
// when received is; a nil seal passes (Verify refuses it).
func (k *Keys) Retired(s *Seal, received time.Time) error {
	if k == nil || s == nil {
		return nil
	}
	if at, ok := k.retired[s.KeyID]; ok && !received.Before(at) {
		return fmt.Errorf("%w: signing key %q was retired at %s; this request reached the run at %s", ErrForged, clip(s.KeyID),
			at.UTC().Format(time.RFC3339), received.UTC().Format(time.RFC3339))
	}
	return nil
}

// Fresh refuses a seal made more than MaxAge before or after now. It is
// deterministic when now is (workflow code passes workflow.Now); a nil
// seal passes (Verify refuses it).
func Fresh(s *Seal, now time.Time) error {
	if s == nil {
		return nil
	}
	at := s.At.UTC()
	switch age := now.Sub(at); {
	case age > MaxAge:
		return fmt.Errorf("%w: signed at %s, more than %s before %s; send the request again through Riposte", ErrStale,
			at.Format(time.RFC3339), MaxAge, now.UTC().Format(time.RFC3339))
	case age < -MaxAge:
		return fmt.Errorf("%w: signed at %s, more than %s after %s (is the signer's clock right?)", ErrStale,
			at.Format(time.RFC3339), MaxAge, now.UTC().Format(time.RFC3339))
	}
	return nil
}

// KeyIDs lists the key ids (for diagnostics).
func (k *Keys) KeyIDs() []string {
	if k == nil {
		return nil
	}
	out := make([]string, 0, len(k.keys))
	for id := range k.keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// mac is HMAC-SHA256 over the length-prefixed fields (no field can bleed
// into the next).
func mac(key []byte, c Claim, at time.Time) []byte {
	m := hmac.New(sha256.New, key)
	var n [4]byte
	fields := []string{"riposte/v1", c.Kind, c.Run, c.Gate, c.Decision, c.Identity, c.Channel, c.Reason, c.MessageTS, at.Format(time.RFC3339Nano)}
	if c.Credential != "" {
		fields = append(fields, "credential", c.Credential)
	}
	if c.RunID != "" {
		fields = append(fields, "run_id", c.RunID)
	}
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
