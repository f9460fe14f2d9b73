package codec

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// testKeyring returns an in-memory keyring with random keys; the first id is
// active.
func testKeyring(t testing.TB, ids ...string) *Keyring {
	t.Helper()
	keys := make(map[string][]byte, len(ids))
	for _, id := range ids {
		b := make([]byte, KeySize)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		keys[id] = b
	}
	k, err := NewKeyring(ids[0], keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type detection struct {
	ID       string            `json:"id"`
	Severity string            `json:"severity"`
	Host     host              `json:"host"`
	Process  map[string]any    `json:"process"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Score    float64           `json:"score"`
}

type host struct {
	Name string   `json:"name"`
	IPs  []string `json:"ips"`
}

func sampleDetection() detection {
	return detection{
		ID:       "det-7f3a91",
		Severity: "critical",
		Host:     host{Name: "fin-laptop-042.corp.example", IPs: []string{"10.20.30.40"}},
		Process: map[string]any{
			"command_line": `powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA mimikatz sekurlsa::logonpasswords`,
			"user":         "CORP\\alice.admin",
			"parent":       map[string]any{"name": "winword.exe", "pid": float64(4242)},
		},
		Tags:   []string{"credential-access", "T1003.001"},
		Labels: map[string]string{"tenant": "acme-secret-tenant"},
		Score:  97.5,
	}
}

// TestRoundTrip runs several kinds of values through the encrypting data
// converter and checks that the stored form is opaque and the value returns.
func TestRoundTrip(t *testing.T) {
	k := testKeyring(t, "k1", "k0")
	dc := NewDataConverter(k)
	plainDC := converter.GetDefaultDataConverter()

	tests := []struct {
		name   string
		value  any
		target func() any // new pointer to decode into
		secret []string   // strings that must not appear in the stored payload
	}{
		{
			name:   "detection struct",
			value:  sampleDetection(),
			target: func() any { return new(detection) },
			secret: []string{"mimikatz", "fin-laptop-042", "10.20.30.40", "alice.admin", "acme-secret-tenant", "T1003", "json/plain"},
		},
		{
			name: "JSON map with nested detection",
			value: map[string]any{
				"playbook":  "contain-host",
				"detection": map[string]any{"id": "det-1", "rule": "LSASS memory dump", "entities": []any{map[string]any{"type": "user", "value": "bob@example.com"}}},
				"count":     float64(3),
				"approved":  true,
			},
			target: func() any { return new(map[string]any) },
			secret: []string{"contain-host", "LSASS memory dump", "bob@example.com", "json/plain"},
		},
		{
			name:   "nil",
			value:  nil,
			target: func() any { return new(*detection) },
			secret: []string{"binary/null"},
		},
		{
			name:   "binary",
			value:  []byte("\x00\x01\x02\xffPE\x00\x00raw-malware-sample-bytes"),
			target: func() any { return new([]byte) },
			secret: []string{"raw-malware-sample-bytes", "binary/plain"},
		},
		{
			name:   "string",
			value:  "user ünïcødé@example.com clicked phishing link",
			target: func() any { return new(string) },
			secret: []string{"phishing", "example.com"},
		},
		{
			name:   "empty string",
			value:  "",
			target: func() any { return new(string) },
		},
		{
			name:   "proto message",
			value:  &commonpb.WorkflowType{Name: "secret-workflow-type"},
			target: func() any { return new(commonpb.WorkflowType) },
			secret: []string{"secret-workflow-type", "json/protobuf", "temporal.api.common.v1.WorkflowType"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dc.ToPayload(tt.value)
			if err != nil {
				t.Fatalf("ToPayload: %v", err)
			}
			if got := string(p.Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
				t.Fatalf("encoding = %q, want %q", got, EncodingEncrypted)
			}
			if got := string(p.Metadata[MetadataEncryptionKeyID]); got != "k1" {
				t.Fatalf("key id = %q, want k1", got)
			}
			if len(p.Metadata) != 2 {
				t.Errorf("encrypted payload has metadata %v, want only encoding and key id", p.Metadata)
			}
			stored, err := proto.Marshal(p) // what Temporal's database holds
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.secret {
				if bytes.Contains(stored, []byte(s)) {
					t.Errorf("stored payload contains plaintext %q", s)
				}
			}

			// The codec restores the original payload, metadata included.
			want, err := plainDC.ToPayload(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewCodec(k).Decode([]*commonpb.Payload{p})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !proto.Equal(dec[0], want) {
				t.Errorf("decoded payload = %v, want %v", dec[0], want)
			}

			got := tt.target()
			if err := dc.FromPayload(p, got); err != nil {
				t.Fatalf("FromPayload: %v", err)
			}
			gotV := reflect.ValueOf(got).Elem().Interface()
			wantV := tt.value
			switch w := wantV.(type) {
			case nil:
				if !reflect.ValueOf(gotV).IsNil() {
					t.Errorf("got %#v, want nil", gotV)
				}
				return
			case proto.Message:
				if !proto.Equal(got.(proto.Message), w) {
					t.Errorf("got %v, want %v", got, w)
				}
				return
			}
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("got %#v, want %#v", gotV, wantV)
			}
		})
	}
}

func TestEncodeUsesFreshNonce(t *testing.T) {
	c := NewCodec(testKeyring(t, "k1"))
	p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"same"`)}
	seen := map[string]bool{}
	for range 50 {
		out, err := c.Encode([]*commonpb.Payload{p})
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(out[0].Data[:12])
		if seen[nonce] {
			t.Fatal("nonce repeated")
		}
		seen[nonce] = true
	}
	// Overhead: 12-byte nonce + 16-byte tag.
	out, _ := c.Encode([]*commonpb.Payload{p})
	inner, _ := proto.Marshal(p)
	if got, want := len(out[0].Data), len(inner)+28; got != want {
		t.Errorf("ciphertext length = %d, want %d", got, want)
	}
}

func TestEncodeDoesNotMutateInput(t *testing.T) {
	c := NewCodec(testKeyring(t, "k1"))
	p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"a":1}`)}
	orig := proto.Clone(p)
	in := []*commonpb.Payload{p}
	if _, err := c.Encode(in); err != nil {
		t.Fatal(err)
	}
	if in[0] != p || !proto.Equal(p, orig) {
		t.Error("Encode modified its input")
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	k := testKeyring(t, "k1", "k2")
	c := NewCodec(k)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"host":"h1"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	good := enc[0]

	tests := []struct {
		name   string
		mutate func(p *commonpb.Payload)
	}{
		{"flip nonce bit", func(p *commonpb.Payload) { p.Data[0] ^= 1 }},
		{"flip ciphertext bit", func(p *commonpb.Payload) { p.Data[14] ^= 0x80 }},
		{"flip tag bit", func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 }},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] }},
		{"shorter than nonce", func(p *commonpb.Payload) { p.Data = p.Data[:5] }},
		{"empty data", func(p *commonpb.Payload) { p.Data = nil }},
		{"appended byte", func(p *commonpb.Payload) { p.Data = append(p.Data, 0) }},
		{"relabelled to other known key", func(p *commonpb.Payload) { p.Metadata[MetadataEncryptionKeyID] = []byte("k2") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proto.Clone(good).(*commonpb.Payload)
			tt.mutate(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Decode error = %v, want ErrDecrypt", err)
			}
			if !strings.Contains(err.Error(), "authentication failed") {
				t.Errorf("error %q does not say authentication failed", err)
			}
		})
	}
	// The untouched payload still decodes.
	if _, err := c.Decode([]*commonpb.Payload{good}); err != nil {
		t.Fatalf("good payload: %v", err)
	}
}

func TestUnknownKeyFails(t *testing.T) {
	old := testKeyring(t, "retired-2024")
	enc, err := NewCodec(old).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewCodec(testKeyring(t, "k2", "k1")).Decode(enc)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error = %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{`"retired-2024"`, "unknown encryption key", "k1, k2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestDecodeMalformedEncrypted(t *testing.T) {
	c := NewCodec(testKeyring(t, "k1"))
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		p       *commonpb.Payload
		wantErr error
		want    string
	}{
		{"no key id", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(EncodingEncrypted)}, Data: []byte("abc")}, ErrDecrypt, `no "encryption-key-id"`},
		{"huge unknown key id is clipped", &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(EncodingEncrypted), MetadataEncryptionKeyID: []byte(long)}}, ErrUnknownKey, "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode([]*commonpb.Payload{tt.p})
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %v containing %q", err, tt.wantErr, tt.want)
			}
			if len(err.Error()) > 500 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	k, _, err := EnsureDevKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	k1 := k.ActiveKeyID()
	c := NewCodec(k)
	dc := NewDataConverter(k)

	before, err := dc.ToPayload(sampleDetection())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := k.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if k2 == k1 || k.ActiveKeyID() != k2 || !strings.HasPrefix(k2, "dev-") {
		t.Fatalf("after rotate: new id %q, active %q, old %q", k2, k.ActiveKeyID(), k1)
	}
	if got := k.KeyIDs(); len(got) != 2 {
		t.Fatalf("KeyIDs = %v, want two", got)
	}

	// Old data still decrypts.
	var d detection
	if err := dc.FromPayload(before, &d); err != nil {
		t.Fatalf("decrypting k1 data after rotation: %v", err)
	}
	if !reflect.DeepEqual(d, sampleDetection()) {
		t.Errorf("got %#v", d)
	}
	// New data uses k2.
	after, err := c.Encode([]*commonpb.Payload{{Data: []byte("new")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(after[0].Metadata[MetadataEncryptionKeyID]); got != k2 {
		t.Errorf("new payload key id = %q, want %q", got, k2)
	}

	// The rotation was saved: a fresh load reads both generations.
	reloaded, err := LoadKeyring(k.Path())
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.ActiveKeyID() != k2 {
		t.Errorf("reloaded active = %q, want %q", reloaded.ActiveKeyID(), k2)
	}
	if _, err := NewCodec(reloaded).Decode([]*commonpb.Payload{before, after[0]}); err != nil {
		t.Errorf("reloaded keyring: %v", err)
	}
	// A process that still has only k1 fails clearly on k2 data.
	_, err = NewCodec(testKeyring(t, k1)).Decode(after)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), k2) {
		t.Errorf("stale keyring error = %v", err)
	}
}

func TestRotateWithoutFile(t *testing.T) {
	k := testKeyring(t, "k1")
	if _, err := k.Rotate(); err == nil || !strings.Contains(err.Error(), "no key file") {
		t.Fatalf("Rotate error = %v", err)
	}
	if k.ActiveKeyID() != "k1" {
		t.Error("failed rotation changed the active key")
	}
}

func TestDecodePassesThroughUnencrypted(t *testing.T) {
	c := NewCodec(testKeyring(t, "k1"))
	plain, err := converter.GetDefaultDataConverter().ToPayloads(map[string]string{"detection": "legacy"}, nil, []byte{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	in := append(plain.Payloads,
		nil,
		&commonpb.Payload{},
		&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/zlib")}, Data: []byte{0x78, 0x9c}},
		&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("BINARY/ENCRYPTED")}, Data: []byte("not ours")},
	)
	out, err := c.Decode(in)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("payload %d was changed", i)
		}
	}

	// Through the data converter, history written before encryption reads.
	var m map[string]string
	if err := NewDataConverter(testKeyring(t, "k9")).FromPayload(plain.Payloads[0], &m); err != nil || m["detection"] != "legacy" {
		t.Errorf("legacy payload: %v %v", m, err)
	}
}

func TestEncodeSkipsEncrypted(t *testing.T) {
	c := NewCodec(testKeyring(t, "k1"))
	once, err := c.Encode([]*commonpb.Payload{{Data: []byte("x")}, nil})
	if err != nil {
		t.Fatal(err)
	}
	twice, err := c.Encode(once)
	if err != nil {
		t.Fatal(err)
	}
	if twice[0] != once[0] || twice[1] != nil {
		t.Error("Encode re-encrypted an encrypted payload or changed nil")
	}
}

func TestFailureConverterEncryptsMessages(t *testing.T) {
	k := testKeyring(t, "k1")
	dc := NewDataConverter(k)
	fc := NewFailureConverter(dc)

	secret := "lookup of host evil-c2.example.net for detection det-42 failed"
	f := fc.ErrorToFailure(temporal.NewApplicationError(secret, "LookupError", "detail evil-c2.example.net"))
	stored, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("evil-c2")) || bytes.Contains(stored, []byte("det-42")) {
		t.Fatal("failure stored with plaintext detection text")
	}
	if f.GetMessage() != "LookupError (message encrypted: the codec endpoint decodes it)" {
		t.Errorf("visible message = %q", f.GetMessage())
	}
	// A run's failure shows its (non-secret) summary; its stack stays
	// encrypted and the message round-trips.
	rf := fc.ErrorToFailure(temporal.NewNonRetryableApplicationError("run failed: step isolate failed (defender.isolate_machine)", "RunFailed", nil, "detail evil-c2.example.net"))
	if rf.GetMessage() != "run failed: step isolate failed (defender.isolate_machine)" || rf.GetStackTrace() != "" || rf.GetEncodedAttributes() == nil {
		t.Errorf("run failure = %q, stack %q", rf.GetMessage(), rf.GetStackTrace())
	}
	if back := fc.FailureToError(rf); !strings.Contains(back.Error(), "step isolate failed") {
		t.Errorf("restored run failure %q", back)
	}
	if enc := f.GetEncodedAttributes(); string(enc.GetMetadata()["encoding"]) != EncodingEncrypted {
		t.Errorf("encoded attributes not encrypted: %v", enc.GetMetadata())
	}

	back := fc.FailureToError(f)
	if !strings.Contains(back.Error(), secret) {
		t.Errorf("restored error %q lacks the message", back)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(back, &appErr) {
		t.Fatalf("restored error is %T", back)
	}
	var detail string
	if err := appErr.Details(&detail); err != nil || detail != "detail evil-c2.example.net" {
		t.Errorf("details = %q, %v", detail, err)
	}
}

func TestConfigureClientOptions(t *testing.T) {
	k := testKeyring(t, "k1")
	var opts client.Options
	ConfigureClientOptions(&opts, k, Options{})
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("converters not set")
	}
	p, err := opts.DataConverter.ToPayload("secret")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != EncodingEncrypted {
		t.Errorf("client data converter does not encrypt: %v", p.Metadata)
	}
	if f := opts.FailureConverter.ErrorToFailure(errors.New("secret text")); f.GetMessage() == "secret text" {
		t.Error("client failure converter does not encode messages")
	}

	// Applied twice (e.g. by two layers of setup) it still round-trips and
	// does not double-encrypt.
	ConfigureClientOptions(&opts, k, Options{})
	p2, err := opts.DataConverter.ToPayload("secret")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := opts.DataConverter.FromPayload(p2, &s); err != nil || s != "secret" {
		t.Errorf("double-configured round trip: %q %v", s, err)
	}
	inner, err := NewCodec(k).Decode([]*commonpb.Payload{p2})
	if err != nil || string(inner[0].Metadata["encoding"]) != "json/plain" {
		t.Errorf("double-configured converter double-encrypts: %v %v", inner, err)
	}
}

func TestNilKeyringPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCodec(nil) did not panic")
		}
	}()
	NewCodec(nil)
}

// FuzzDecode checks that Decode never panics, whatever the payload holds.
// With sealRaw the fuzzed bytes are sealed under the real key first, so the
// code after authentication (unmarshalling the inner payload) gets arbitrary
// input too.
func FuzzDecode(f *testing.F) {
	k := testKeyring(f, "k1", "k0")
	c := NewCodec(k)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"a":"b"}`)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc[0].Data, EncodingEncrypted, "k1", false)
	f.Add([]byte{}, EncodingEncrypted, "k1", false)
	f.Add([]byte("short"), EncodingEncrypted, "nope", false)
	f.Add([]byte(`{"a":1}`), "json/plain", "", false)
	f.Add([]byte{0x0a, 0x05}, EncodingEncrypted, "k1", true)
	f.Add([]byte{0x12, 0xff, 0xff, 0xff, 0xff, 0x0f}, EncodingEncrypted, "k0", true)
	// Compressed framing: a real one, and broken ones sealed as such.
	z, err := NewCodecWith(k, Options{Compress: true}).Encode([]*commonpb.Payload{largeDetection(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(z[0].Data, EncodingEncrypted, "k1", false)
	f.Add([]byte{0x00, 0x01, 0x4a, 0x4c, 0x04, 0x04, 0x00, 0x00}, EncodingEncrypted, "k1", true)
	f.Add([]byte{0x00, 0x01}, EncodingEncrypted, "k1", true)
	f.Add([]byte{0x00, 0x07, 0x01}, EncodingEncrypted, "k1", true)

	f.Fuzz(func(t *testing.T, data []byte, encoding, keyID string, sealRaw bool) {
		md := map[string][]byte{"encoding": []byte(encoding)}
		if keyID != "" {
			md[MetadataEncryptionKeyID] = []byte(keyID)
		}
		if sealRaw {
			id, aead := k.activeKey()
			md = map[string][]byte{"encoding": []byte(EncodingEncrypted), MetadataEncryptionKeyID: []byte(id)}
			data = aead.Seal(nil, nil, data, []byte(id))
		}
		p := &commonpb.Payload{Metadata: md, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p, nil})
		if err != nil {
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(out) != 2 || out[1] != nil {
			t.Fatalf("bad output %v", out)
		}
		if encoding != EncodingEncrypted && !sealRaw && out[0] != p {
			t.Fatal("unencrypted payload changed")
		}
	})
}

// BenchmarkEncodeDecode measures Encode+Decode of a ~4 KiB detection.
func BenchmarkEncodeDecode(b *testing.B) {
	p := largeDetection(b)
	for _, o := range []Options{{Compress: true}, {}} {
		b.Run(fmt.Sprintf("Compress=%v", o.Compress), func(b *testing.B) {
			c := NewCodecWith(testKeyring(b, "k1"), o)
			in := []*commonpb.Payload{p}
			b.SetBytes(int64(len(p.Data)))
			b.ReportAllocs()
			for b.Loop() {
				enc, err := c.Encode(in)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// largeDetection is a ~4 KiB detection payload: the sample with a process's
// file events.
func largeDetection(t testing.TB) *commonpb.Payload {
	t.Helper()
	d := sampleDetection()
	d.Process["events"] = func() []any {
		var ev []any
		for i := 0; len(fmt.Sprint(ev)) < 3600; i++ {
			ev = append(ev, map[string]any{"ts": fmt.Sprintf("2026-01-02T03:04:%02dZ", i%60), "action": "file_write", "path": fmt.Sprintf(`C:\Users\alice\AppData\Local\Temp\%08x.tmp`, i)})
		}
		return ev
	}()
	p, err := converter.GetDefaultDataConverter().ToPayload(d)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Data); n < 3500 || n > 5000 {
		t.Fatalf("payload is %d bytes, want ~4 KiB", n)
	}
	return p
}

func TestZeroKeyringEncodeFails(t *testing.T) {
	_, err := NewCodec(&Keyring{}).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "no active key") {
		t.Fatalf("error = %v", err)
	}
}

// Issue 12: where encryption is on, the worker's codec refuses a payload
// that is not encrypted (a signal sent through the frontend's HTTP API or
// tctl without the key); the UI's lenient codec still passes it through.
func TestStrictCodecRefusesPlainPayloads(t *testing.T) {
	k := testKeyring(t, "k1")
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data: []byte(`{"gate_id":"isolate","approve":true,"user":"U0INFRA001","via":"slack"}`)}
	if _, err := NewStrictCodec(k).Decode([]*commonpb.Payload{plain}); !errors.Is(err, ErrUnencrypted) {
		t.Fatalf("strict codec: want ErrUnencrypted, got %v", err)
	}
	var opts client.Options
	ConfigureClientOptions(&opts, k, Options{})
	var d map[string]any
	if err := opts.DataConverter.FromPayload(plain, &d); !errors.Is(err, ErrUnencrypted) {
		t.Fatalf("client data converter accepted a plain payload: %v %v", d, err)
	}
	if out, err := NewCodec(k).Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Fatalf("lenient codec: %v %v", out, err)
	}
	enc, _ := NewCodec(k).Encode([]*commonpb.Payload{plain})
	if out, err := NewStrictCodec(k).Decode(enc); err != nil || string(out[0].Data) != string(plain.Data) {
		t.Fatalf("strict codec on an encrypted payload: %v", err)
	}
}

// Issue 12: each payload the strict codec refuses is audited once, with
// what was refused and why but not the payload; not while a workflow
// replays; and not at all without a logger.
func TestStrictCodecAuditsRefusals(t *testing.T) {
	k := testKeyring(t, "k1")
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data: []byte(`{"gate_id":"isolate","approve":true,"user":"U0INFRA001","via":"slack"}`)}
	var buf bytes.Buffer
	opts := client.Options{Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(&buf, nil)))}
	ConfigureClientOptions(&opts, k, Options{})
	var d map[string]any
	if err := opts.DataConverter.FromPayload(plain, &d); !errors.Is(err, ErrUnencrypted) {
		t.Fatalf("want ErrUnencrypted, got %v", err)
	}
	out := buf.String()
	if n := strings.Count(out, `msg="audit: unencrypted payload refused"`); n != 1 {
		t.Fatalf("%d audit records, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "encoding=json/plain") || !strings.Contains(out, "level=WARN") || strings.Contains(out, "U0INFRA001") {
		t.Errorf("audit record does not name the encoding at warning level, or quotes the payload:\n%s", out)
	}
	// An encrypted payload is not a refusal.
	enc, _ := opts.DataConverter.ToPayload("x")
	var s string
	if err := opts.DataConverter.FromPayload(enc, &s); err != nil || strings.Count(buf.String(), "audit:") != 1 {
		t.Errorf("encrypted payload: %v, audit log:\n%s", err, buf.String())
	}
	// Replaying a workflow's history: the refusal was audited when it
	// first arrived.
	dc := opts.DataConverter.(strictDC)
	c := *dc.codec
	c.replaying = func() bool { return true }
	if err := newStrictDC(dc.parent, &c).FromPayload(plain, &d); !errors.Is(err, ErrUnencrypted) {
		t.Fatalf("replaying: want ErrUnencrypted, got %v", err)
	}
	if n := strings.Count(buf.String(), "audit:"); n != 1 {
		t.Errorf("refusal audited again on replay: %d records", n)
	}
	// No logger: refused, nothing written anywhere.
	var quiet client.Options
	ConfigureClientOptions(&quiet, k, Options{})
	if err := quiet.DataConverter.FromPayload(plain, &d); !errors.Is(err, ErrUnencrypted) {
		t.Fatalf("no logger: want ErrUnencrypted, got %v", err)
	}
}
