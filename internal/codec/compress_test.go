package codec

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// open returns the sealed plaintext of an encrypted payload: what the
// codec framed before encrypting.
func open(t *testing.T, k *Keyring, p *commonpb.Payload) []byte {
	t.Helper()
	id := string(p.Metadata[MetadataEncryptionKeyID])
	aead, ok := k.lookup(id)
	if !ok {
		t.Fatalf("no key %q", id)
	}
	plain, err := aead.Open(nil, nil, p.Data, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// seal encrypts plain as Encode would, framing included.
func seal(k *Keyring, plain []byte) *commonpb.Payload {
	id, aead := k.activeKey()
	return &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(EncodingEncrypted), MetadataEncryptionKeyID: []byte(id)},
		Data:     aead.Seal(nil, nil, plain, []byte(id)),
	}
}

func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCompression(t *testing.T) {
	k := testKeyring(t, "k1")
	det, err := converter.GetDefaultDataConverter().ToPayload(sampleDetection())
	if err != nil {
		t.Fatal(err)
	}
	small := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"enrich"`)}
	// Random bytes do not shrink: sealed as they are.
	noise := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: make([]byte, 600)}
	if _, err := rand.Read(noise.Data); err != nil {
		t.Fatal(err)
	}
	marshalled := func(p *commonpb.Payload) []byte {
		b, err := proto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name       string
		opts       Options
		p          *commonpb.Payload
		compressed bool
	}{
		{"detection", Options{Compress: true}, det, true},
		{"large detection", Options{Compress: true}, largeDetection(t), true},
		{"detection, compression off", Options{}, det, false},
		{"below the threshold", Options{Compress: true}, small, false},
		{"incompressible", Options{Compress: true}, noise, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCodecWith(k, tt.opts)
			enc, err := c.Encode([]*commonpb.Payload{tt.p})
			if err != nil {
				t.Fatal(err)
			}
			plain := open(t, k, enc[0])
			if got := bytes.HasPrefix(plain, compressedPrefix); got != tt.compressed {
				t.Fatalf("sealed plaintext compressed = %v, want %v (%d bytes)", got, tt.compressed, len(plain))
			}
			raw := marshalled(tt.p)
			if tt.compressed && len(plain) >= len(raw)*9/10 {
				t.Errorf("compressed plaintext is %d bytes for a %d-byte payload: want at least a tenth less", len(plain), len(raw))
			}
			if !tt.compressed && !bytes.Equal(plain, raw) {
				t.Error("uncompressed sealed plaintext is not the marshalled payload")
			}
			// Every codec reads both forms.
			for _, reader := range []*Codec{NewCodec(k), NewStrictCodec(k)} {
				dec, err := reader.Decode(enc)
				if err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(dec[0], tt.p) {
					t.Fatalf("decoded %v, want %v", dec[0], tt.p)
				}
			}
		})
	}
}

// Payloads sealed before compression existed (a marshalled Payload, no
// framing) still decode: histories and backups written by older releases.
func TestDecodeUncompressedFromOlderReleases(t *testing.T) {
	k := testKeyring(t, "k1")
	orig := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: bytes.Repeat([]byte(`{"host":"db-prod-02"},`), 40)}
	raw, err := proto.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewStrictCodec(k).Decode([]*commonpb.Payload{seal(k, raw)})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dec[0], orig) {
		t.Fatalf("decoded %v", dec[0])
	}
}

func TestDecodeBadCompressedFraming(t *testing.T) {
	k := testKeyring(t, "k1")
	raw, _ := proto.Marshal(&commonpb.Payload{Data: bytes.Repeat([]byte("a"), 500)})
	z := deflate(t, raw)
	big := deflate(t, make([]byte, maxDecompressed+1))
	for _, tt := range []struct {
		name, plain, want string
	}{
		{"unknown framing version", string(append([]byte{0x00, 0x02}, z...)), "unknown plaintext framing 0x0002"},
		{"prefix alone", "\x00", "unknown plaintext framing 0x00"},
		{"truncated stream", string(append(append([]byte{}, compressedPrefix...), z[:len(z)/2]...)), "inflating it"},
		{"not deflate", string(append(append([]byte{}, compressedPrefix...), 0xff, 0xff, 0xff)), "inflating it"},
		{"inflates beyond the limit", string(append(append([]byte{}, compressedPrefix...), big...)), "inflates to more than 64 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCodec(k).Decode([]*commonpb.Payload{seal(k, []byte(tt.plain))})
			if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrDecrypt saying %q", err, tt.want)
			}
		})
	}
}

// BenchmarkCompress measures compressing and inflating a 2 KB payload, the
// size of the reference playbook's run input and result (BENCHMARKS.md,
// "Payload compression").
func BenchmarkCompress(b *testing.B) {
	plain, err := proto.Marshal(largeDetection(b))
	if err != nil {
		b.Fatal(err)
	}
	plain = plain[:2048]
	z, err := compress(plain)
	if err != nil || !bytes.HasPrefix(z, compressedPrefix) {
		b.Fatalf("compress: %v", err)
	}
	b.Run("compress", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := compress(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decompress", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := decompress(z); err != nil {
				b.Fatal(err)
			}
		}
	})
}
