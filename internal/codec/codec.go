package codec

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// EncodingEncrypted is the value of the "encoding" metadata
	// (converter.MetadataEncoding) of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataEncryptionKeyID is the metadata key holding the id of the key
	// a payload was encrypted with.
	MetadataEncryptionKeyID = "encryption-key-id"
)

var (
	// ErrUnknownKey is wrapped by Decode errors for payloads encrypted with a
	// key id the keyring does not hold.
	ErrUnknownKey = errors.New("unknown encryption key")
	// ErrDecrypt is wrapped by Decode errors for payloads whose ciphertext
	// does not authenticate (modified, truncated, or the key material under
	// that id changed), and for encrypted payloads that are malformed.
	ErrDecrypt = errors.New("cannot decrypt payload")
)

// Codec is an AES-256-GCM converter.PayloadCodec over a Keyring. It is safe
// for concurrent use.
type Codec struct {
	keys *Keyring
	// strict refuses payloads that are not encrypted (see NewStrictCodec).
	strict bool
	// audit, when set, receives one record per refused payload; replaying
	// (set inside a workflow) silences it while history is replayed, so a
	// refused signal kept in history is audited once.
	audit     log.Logger
	replaying func() bool
	// compress: Options.Compress.
	compress bool
}

// Options are a Codec's settings beyond its keys.
type Options struct {
	// Compress compresses each payload (DEFLATE) before encrypting it,
	// where that makes it shorter: JSON detections and run results halve.
	// Releases before 2026-12-05 cannot read compressed payloads, so a
	// deployment turns it on once every worker, API and codec endpoint
	// runs a release that reads them. Decode reads both forms either way.
	Compress bool
}

// auditRefusal writes the audit record of a refused payload: what was
// refused and why, never the payload itself.
func (c *Codec) auditRefusal(i int, encoding string) {
	if c.audit == nil || (c.replaying != nil && c.replaying()) {
		return
	}
	c.audit.Warn("audit: unencrypted payload refused", "payload", i, "encoding", clip(encoding),
		"refusal", "encryption is on and the payload is not encrypted: it did not come from a Riposte process holding the codec key")
}

// ErrUnencrypted is wrapped by a strict Codec's Decode errors for a payload
// that is not encrypted: where encryption is on, such a payload did not come
// from a Riposte process (tctl, the frontend's HTTP API, a gRPC client) and
// is refused. The SDK drops a signal it cannot decode and rejects such an
// Update.
var ErrUnencrypted = errors.New("unencrypted payload refused")

// NewStrictCodec is NewCodec for workers and API processes: Decode refuses
// payloads that are not encrypted. The UI's codec endpoint stays lenient.
func NewStrictCodec(k *Keyring) *Codec {
	c := NewCodec(k)
	c.strict = true
	return c
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a Codec encrypting with k's active key (payloads not
// compressed: see NewCodecWith).
func NewCodec(k *Keyring) *Codec {
	return NewCodecWith(k, Options{})
}

// NewCodecWith returns a Codec encrypting with k's active key, with o.
func NewCodecWith(k *Keyring, o Options) *Codec {
	if k == nil {
		panic("codec: NewCodec with nil Keyring")
	}
	return &Codec{keys: k, compress: o.Compress}
}

// Encode encrypts each payload with the active key. Nil payloads and payloads
// that are already encrypted are returned as they are.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id, aead := c.keys.activeKey()
	if aead == nil {
		return nil, errors.New("codec: encrypting payloads: keyring has no active key (make it with LoadKeyring, KeyringFromEnv, EnsureDevKeyring or NewKeyring)")
	}
	ad := []byte(id)
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || isEncrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: encrypting payload %d: marshalling it: %w", i, err)
		}
		if c.compress {
			if plain, err = compress(plain); err != nil {
				return nil, fmt.Errorf("codec: encrypting payload %d: compressing it: %w", i, err)
			}
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataEncryptionKeyID:    []byte(id),
			},
			Data: aead.Seal(nil, nil, plain, ad),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload and returns the original payload,
// metadata included. Payloads that are not encrypted are returned as they
// are. Errors name the payload's key id; see ErrUnknownKey and ErrDecrypt.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		if !isEncrypted(p) {
			if c.strict {
				c.auditRefusal(i, string(p.GetMetadata()[converter.MetadataEncoding]))
				return nil, fmt.Errorf("codec: decoding payload %d (encoding %q): %w: encryption is on, so every payload must come from a Riposte process holding the codec key",
					i, clip(string(p.GetMetadata()[converter.MetadataEncoding])), ErrUnencrypted)
			}
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataEncryptionKeyID])
		if id == "" {
			return nil, fmt.Errorf("codec: decrypting payload %d: %w: it has no %q metadata", i, ErrDecrypt, MetadataEncryptionKeyID)
		}
		aead, ok := c.keys.lookup(id)
		if !ok {
			return nil, fmt.Errorf("codec: decrypting payload %d: %w %q: the keyring holds only %s; add that key to the key file as a non-active key",
				i, ErrUnknownKey, clip(id), strings.Join(c.keys.KeyIDs(), ", "))
		}
		plain, err := aead.Open(nil, nil, p.GetData(), []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: decrypting payload %d with key %q: %w: authentication failed (ciphertext modified or truncated, or the key stored under this id changed)", i, id, ErrDecrypt)
		}
		if plain, err = decompress(plain); err != nil {
			return nil, fmt.Errorf("codec: decrypting payload %d with key %q: %w: %v", i, id, ErrDecrypt, err)
		}
		orig := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, orig); err != nil {
			return nil, fmt.Errorf("codec: decrypting payload %d with key %q: %w: decrypted data is not a payload: %v", i, id, ErrDecrypt, err)
		}
		out[i] = orig
	}
	return out, nil
}

// The sealed plaintext is either a marshalled Payload or, when that was
// compressed, compressedPrefix followed by its raw DEFLATE stream. A
// marshalled Payload never starts with 0x00 (field number 0 is invalid
// protobuf), so the two cannot be confused, and the prefix is inside the
// authenticated ciphertext.
var compressedPrefix = []byte{0x00, 0x01}

const (
	// compressMin: smaller payloads (step ids, marker data, most outputs)
	// seldom shrink by more than DEFLATE's own framing.
	compressMin = 256
	// maxDecompressed bounds what one payload may inflate to. Only holders
	// of the key can seal a payload, so this guards against a bug, not an
	// attacker; it is far above Temporal's 2 MiB payload limit.
	maxDecompressed = 64 << 20
)

var (
	// BestSpeed: on the reference playbook's payloads it writes 2 % more
	// history than the default level for half the CPU (BENCHMARKS.md).
	flateWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed) // level is valid: never fails
		return w
	}}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

// compress returns plain framed as compressed when that is shorter, plain
// itself otherwise. JSON payloads (detections, run results) halve.
func compress(plain []byte) ([]byte, error) {
	if len(plain) < compressMin {
		return plain, nil
	}
	var b bytes.Buffer
	b.Grow(len(plain) / 2)
	b.Write(compressedPrefix)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if b.Len() >= len(plain) {
		return plain, nil
	}
	return b.Bytes(), nil
}

// decompress undoes compress; plaintext that is not framed as compressed
// (every payload Riposte wrote before it compressed) is returned as it is.
func decompress(plain []byte) ([]byte, error) {
	if len(plain) == 0 || plain[0] != compressedPrefix[0] {
		return plain, nil
	}
	if !bytes.HasPrefix(plain, compressedPrefix) {
		return nil, fmt.Errorf("unknown plaintext framing 0x%02x (written by a newer Riposte?)", plain[:min(len(plain), 2)])
	}
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(plain[len(compressedPrefix):]), nil); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("inflating it: %w", err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("it inflates to more than %d MiB", maxDecompressed>>20)
	}
	return out, nil
}

func isEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}

// clip shortens an untrusted string for an error message.
func clip(s string) string {
	const n = maxKeyIDLen + 16
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// NewDataConverter returns Temporal's default data converter with payloads
// encrypted by a Codec over k:
// converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k)).
func NewDataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// NewFailureConverter returns a failure converter that encodes failure
// messages and stack traces with dc (temporal.NewDefaultFailureConverter with
// EncodeCommonAttributes: true).
//
// A payload codec alone does not encrypt failures: the default failure
// converter puts err.Error() and the stack trace into Failure.Message and
// Failure.StackTrace in clear text, and error messages often quote detection
// data. With this converter the history shows only "Encoded failure"; the SDK
// (and the Web UI through the codec server) restores the real message. Use
// the same dc as the client's DataConverter.
//
// The visible message is not a bare "Encoded failure": errors of
// SafeMessageTypes keep their (non-secret) message, others show their type.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return summaryFailureConverter{temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})}
}

// ConfigureClientOptions makes a Temporal client (and the workers built from
// it) encrypt payloads and failures with k. It wraps opts.DataConverter with
// a strict Codec over k (the default data converter when nil) and sets
// opts.FailureConverter to NewFailureConverter of the result, replacing any
// failure converter already set.
//
// When opts.Logger is set (set it first), every payload the strict codec
// refuses writes one audit record to it, "audit: unencrypted payload
// refused" at warning level (inside a workflow: not again while its
// history is replayed).
//
// o says whether payloads are compressed before they are encrypted.
func ConfigureClientOptions(opts *client.Options, k *Keyring, o Options) {
	parent := opts.DataConverter
	if parent == nil {
		parent = converter.GetDefaultDataConverter()
	}
	if prev, ok := parent.(strictDC); ok {
		// Configured before: replace our layer rather than stack a second
		// one (the inner strict layer would refuse the outer's output).
		parent = prev.parent
	}
	c := NewStrictCodec(k)
	c.compress = o.Compress
	c.audit = opts.Logger
	dc := newStrictDC(parent, c)
	opts.DataConverter = dc
	opts.FailureConverter = NewFailureConverter(dc)
}

// strictDC marks a data converter configured by ConfigureClientOptions.
type strictDC struct {
	converter.DataConverter
	parent converter.DataConverter
	codec  *Codec
}

func newStrictDC(parent converter.DataConverter, c *Codec) strictDC {
	return strictDC{DataConverter: converter.NewCodecDataConverter(parent, c), parent: parent, codec: c}
}

var _ workflow.ContextAware = strictDC{}

// WithWorkflowContext is the converter a workflow decodes its signals and
// arguments with: its refusals are not audited again on replay.
func (d strictDC) WithWorkflowContext(ctx workflow.Context) converter.DataConverter {
	if d.codec.audit == nil {
		return d
	}
	c := *d.codec
	c.replaying = func() bool { return workflow.IsReplaying(ctx) }
	return newStrictDC(d.parent, &c)
}

// WithContext returns d: outside a workflow nothing is replayed.
func (d strictDC) WithContext(context.Context) converter.DataConverter { return d }
