package core

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	dim := 3
	data := make([]float32, 400*dim)
	for i := range data {
		data[i] = float32(rng.IntN(5))
	}
	tr, err := Build(data, dim, Options{Metric: Metric{Kind: Minkowski, P: 3}, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	ids := tr.LiveIDs(nil)
	tr2, err := tr.Delete(ids[:150], UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*Tree[float32]{tr, tr2} {
		enc := v.Encode()
		dec, err := Decode[float32](enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Check(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Encode(), enc) {
			t.Fatal("re-encoding a decoded tree gives other bytes")
		}
		if dec.Len() != v.Len() || dec.IDs() != v.IDs() || dec.Metric() != v.Metric() {
			t.Fatalf("decoded tree: %d points, %d ids, %v; want %d, %d, %v", dec.Len(), dec.IDs(), dec.Metric(), v.Len(), v.IDs(), v.Metric())
		}
		q := []float32{1.5, 2, 0.5}
		a, _ := v.KNearest(q, 20)
		b, _ := dec.KNearest(q, 20)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("answers differ after decoding: %v vs %v", a, b)
			}
		}
		if _, err := Decode[float64](enc); err == nil {
			t.Fatal("decoding a float32 tree as float64 succeeded")
		}
		// Every truncation and every single-byte change is an error.
		for cut := 0; cut < len(enc); cut += 1 + len(enc)/97 {
			if _, err := Decode[float32](enc[:cut]); err == nil {
				t.Fatalf("a truncation to %d of %d bytes decoded", cut, len(enc))
			}
		}
		for i := 0; i < len(enc); i += 1 + len(enc)/89 {
			bad := bytes.Clone(enc)
			bad[i] ^= 0x40
			if _, err := Decode[float32](bad); err == nil {
				t.Fatalf("flipping a bit of byte %d decoded", i)
			}
		}
	}
}

// FuzzDecode checks that no input makes Decode panic or return a tree with
// broken structure. The fuzzer mutates the body; the checksum is appended
// afresh, so that the structural checks, not the checksum, are exercised.
func FuzzDecode(f *testing.F) {
	tr, _ := Build([]float64{0, 0, 1, 0, 0, 1, 5, 5, 5, 5, 1, 1}, 2, Options{})
	enc := tr.Encode()
	f.Add(enc[:len(enc)-4])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.ChecksumIEEE(body))
		dec, err := Decode[float64](data)
		if err != nil {
			return
		}
		if _, err := dec.checkStructure(); err != nil {
			t.Fatalf("decoded a tree with broken structure: %v", err)
		}
	})
}
