package intake

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// metadata.product.name is part of the dedup key (README "Lifecycle":
// producer + finding_info.uid + playbook), yet OCSF only recommends it:
// the product object extends _entity, whose name and uid are
// "recommended" in every OCSF version 1.0-1.8 (objects/_entity.json;
// vendor_name is required in 1.0-1.3, recommended from 1.4,
// objects/product.json; sources in testdata/real/README.md). So an empty
// name is accepted, but the key must still tell producers apart by what
// the product does say (vendor_name, uid), and the answer warns.
func TestEmptyProductNameStillSeparatesProducers(t *testing.T) {
	withProduct := func(product string) Detection {
		d := decodeOne(t, validDetection)
		obj(d, "metadata")["product"] = map[string]any(decodeOne(t, product))
		return d
	}
	v := newTestValidator(t)
	for _, p := range []string{`{"name":""}`, `{"name":"  ","uid":"p-1"}`, `{"name":"","vendor_name":"Acme"}`} {
		if errs := v.Validate([]Detection{withProduct(p)}); len(errs) != 0 {
			t.Errorf("product %s: refused %v, want accepted (OCSF only recommends name)", p, errs)
		}
	}

	// Two producers, the same finding uid, no product name: told apart by
	// the product's uid, with or without a vendor.
	for _, pair := range [][2]string{
		{`{"name":"","uid":"edr-sensor"}`, `{"name":"","uid":"mail-gateway"}`},
		{`{"name":"","vendor_name":"Acme","uid":"edr"}`, `{"name":"","vendor_name":"Acme","uid":"mail"}`},
		{`{"name":"","vendor_name":"Acme"}`, `{"name":"","vendor_name":"Globex"}`},
		{`{"name":"","uid":"p-1"}`, `{"name":""}`},
	} {
		a, b := withProduct(pair[0]), withProduct(pair[1])
		if a.Key() == b.Key() {
			t.Errorf("products %s and %s: same key %q for the same finding uid", pair[0], pair[1], a.Key())
		}
		if a.Key() != withProduct(pair[0]).Key() {
			t.Errorf("product %s: unstable key", pair[0])
		}
	}
	// Keys that told producers apart before stay as they were (running
	// runs are found by them): a name, or a vendor_name alone.
	uid := withProduct(`{"name":"x"}`).UID()
	for product, want := range map[string]string{
		`{"name":"Sentinel","vendor_name":"Halyard","uid":"sllm"}`: makeKey("Sentinel", uid),
		`{"name":"","vendor_name":"Halyard"}`:                      makeKey("Halyard", uid),
		`{"name":""}`:                                              makeKey(UnknownProduct, uid),
	} {
		if got := withProduct(product).Key(); got != want {
			t.Errorf("product %s: key %q, want %q as before", product, got, want)
		}
	}

	warning := func(product string) []string {
		var out []string
		for _, w := range Warnings(0, withProduct(product), nil) {
			if w.Path == "metadata.product.name" {
				out = append(out, w.Message)
			}
		}
		return out
	}
	for product, want := range map[string][]string{
		`{"name":""}`:                                  {"empty", "no vendor_name or uid", "deduplicated"},
		`{"name":" ","vendor_name":"Acme"}`:            {"empty", `vendor_name "Acme"`},
		`{"name":"","vendor_name":"Acme","uid":"edr"}`: {"empty", `vendor_name "Acme"`, `uid "edr"`},
		`{"name":"","uid":"edr"}`:                      {"empty", `uid "edr"`},
	} {
		got := warning(product)
		if len(got) != 1 {
			t.Errorf("product %s: warnings %q, want one", product, got)
			continue
		}
		for _, w := range want {
			if !strings.Contains(got[0], w) {
				t.Errorf("product %s: warning %q lacks %q", product, got[0], w)
			}
		}
	}
	if got := warning(`{"name":"Sentinel"}`); len(got) != 0 {
		t.Errorf("named product: warned %q", got)
	}
}

// A product object without a name at all is the empty-name case: OCSF
// only recommends name (a product may name itself by uid alone:
// _entity's at_least_one [name, uid]), so a record that leaves it out is
// accepted like one with "name": "" (or null, which OCSF reads as
// absent), with the same warning, and gets the same dedup key. The
// record is a real producer's: Microsoft Defender event 1116 as Tenzir
// maps it (testdata/real, see its README), whose product carries
// vendor_name and uid beside the name; only the name is taken out.
func TestMissingProductNameIsTheEmptyNameCase(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "real", "tenzir-defender-1116-1.7.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	withName := func(set func(product map[string]any)) Detection {
		d := decodeOne(t, string(src))
		set(obj(d, "metadata", "product"))
		return d
	}
	empty := withName(func(p map[string]any) { p["name"] = "" })
	v := newTestValidator(t)
	if errs := v.Validate([]Detection{empty}); len(errs) != 0 {
		t.Fatalf("empty name: refused %v", errs)
	}
	productWarning := func(d Detection) []string {
		var out []string
		for _, w := range Warnings(0, d, nil) {
			if w.Path == "metadata.product.name" {
				out = append(out, w.Message)
			}
		}
		return out
	}
	for name, d := range map[string]Detection{
		"missing": withName(func(p map[string]any) { delete(p, "name") }),
		"null":    withName(func(p map[string]any) { p["name"] = nil }),
	} {
		if errs := v.Validate([]Detection{d}); len(errs) != 0 {
			t.Errorf("%s name: refused %v, want accepted as an empty one", name, errs)
		}
		if got, want := productWarning(d), productWarning(empty); !slices.Equal(got, want) || len(got) != 1 {
			t.Errorf("%s name: warnings %q, want the empty name's %q", name, got, want)
		}
		if got, want := d.Key(), empty.Key(); got != want {
			t.Errorf("%s name: key %q, want the empty name's %q", name, got, want)
		}
	}
	// The producer is told apart as the warning says: by vendor_name and uid.
	if w := productWarning(empty); len(w) != 1 || !strings.Contains(w[0], `vendor_name "Microsoft"`) || !strings.Contains(w[0], `uid "{11CD958A-C507-4EF3-B3F2-5FD9DFBD2C78}"`) {
		t.Errorf("warning %q does not name the vendor and uid", w)
	}
}
