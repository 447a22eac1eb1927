package mlrun

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"math/bits"
)

// This file reproduces the digests of mlflow/data/digest_utils.py and the
// pandas hashing they rest on (pandas.core.util.hashing: hash_array,
// hash_pandas_object, combine_hash_arrays; pandas/_libs/hashing.pyx:
// hash_object_array), so a dataset built in Go gets the digest MLflow
// computes for the same data.

// digestMaxRows is MLflow's MAX_ROWS: a table's digest hashes its first
// 10,000 rows, a tensor's its first 10,000 elements.
const digestMaxRows = 10000

// pandasHashKey is pandas' _default_hash_key, the SipHash key of strings.
var pandasHashKey = [16]byte([]byte("0123456789123456"))

// pandasMix is the finalizer _hash_ndarray applies to every value
// (splitmix64's).
func pandasMix(v uint64) uint64 {
	v ^= v >> 30
	v *= 0xbf58476d1ce4e5b9
	v ^= v >> 27
	v *= 0x94d049bb133111eb
	v ^= v >> 31
	return v
}

// hashString is pandas' hash of one str: SipHash-2-4 of its UTF-8 bytes
// with the default key, then the mix.
func hashString(s string) uint64 { return pandasMix(sipHash24(pandasHashKey, []byte(s))) }

// hashFloat64 is pandas 3's hash of a float64: its bits, with every NaN as
// NumPy's NaN and -0.0 as 0.0. (pandas 2 hashes -0.0 by its bits, so its
// digest of a column holding -0.0 differs from pandas 3's.)
func hashFloat64(f float64) uint64 { return pandasMix(float64Bits(f)) }

func float64Bits(f float64) uint64 {
	switch {
	case f != f:
		return 0x7ff8000000000000
	case f == 0:
		return 0
	}
	return math.Float64bits(f)
}

// hashFloat32 is hashFloat64 for a float32: the 4-byte view, zero-extended.
func hashFloat32(f float32) uint64 { return pandasMix(uint64(float32Bits(f))) }

func float32Bits(f float32) uint32 {
	switch {
	case f != f:
		return 0x7fc00000
	case f == 0:
		return 0
	}
	return math.Float32bits(f)
}

// hashInt is pandas' hash of an integer of itemsize bytes: its unsigned
// view of that size, zero-extended to 64 bits.
func hashInt(v int64, itemsize int) uint64 {
	u := uint64(v)
	if itemsize < 8 {
		u &= 1<<(8*itemsize) - 1
	}
	return pandasMix(u)
}

// combineHashArrays is pandas' combine_hash_arrays (CPython's tuple hash,
// vectorized): the row hashes of a DataFrame from its columns' hashes.
func combineHashArrays(arrays [][]uint64, length int) []uint64 {
	out := make([]uint64, length)
	if len(arrays) == 0 {
		for i := range out {
			out[i] = 0x345678 + 97531
		}
		return out
	}
	for i := range out {
		out[i] = 0x345678
	}
	mult := uint64(1000003)
	for i, a := range arrays {
		inverse := uint64(len(arrays) - i)
		for j := range out {
			out[j] = (out[j] ^ a[j]) * mult
		}
		mult += 82520 + inverse + inverse
	}
	for j := range out {
		out[j] += 97531
	}
	return out
}

// md5Digest is get_normalized_md5_digest's hash: md5 over the elements'
// bytes (NumPy arrays and scalars in native, little-endian, order).
type md5Digest struct{ h hash.Hash }

func newMD5Digest() *md5Digest { return &md5Digest{h: md5.New()} }

func (d *md5Digest) uint64s(vs []uint64) {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	d.h.Write(b)
}

func (d *md5Digest) int64(v int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	d.h.Write(b[:])
}

func (d *md5Digest) bytes(b []byte) { d.h.Write(b) }

// sum is the 8-character truncated hex digest.
func (d *md5Digest) sum() string { return hex.EncodeToString(d.h.Sum(nil))[:8] }

// metaDigest is MetaDataset._compute_digest: the first 8 hex digits of the
// SHA-256 of json.dumps of its config, schema "" when there is none.
func metaDigest(name, source, sourceType string) string {
	config := "{" + pyKV("name", pyStr(name)) + ", " + pyKV("source", pyStr(source)) + ", " +
		pyKV("source_type", pyStr(sourceType)) + ", " + pyKV("schema", pyStr("")) + "}"
	sum := sha256.Sum256([]byte(config))
	return hex.EncodeToString(sum[:])[:8]
}

// sipHash24 is SipHash-2-4 with a 128-bit key, as pandas' hashing.pyx
// (after the reference implementation) computes it.
func sipHash24(key [16]byte, data []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:8])
	k1 := binary.LittleEndian.Uint64(key[8:16])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(data)
	for len(data) >= 8 {
		m := binary.LittleEndian.Uint64(data)
		v3 ^= m
		round()
		round()
		v0 ^= m
		data = data[8:]
	}
	last := uint64(n) << 56
	for i, c := range data {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
