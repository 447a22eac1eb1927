package mlrun

import (
	"math"
	"slices"
	"testing"
)

// The expected hashes are pandas 3.1.1's (pd.util.hash_array and
// hash_pandas_object, some from their docstrings).

func TestPandasHashArray(t *testing.T) {
	ints := []uint64{hashInt(1, 8), hashInt(2, 8), hashInt(3, 8)}
	if want := []uint64{6238072747940578789, 15839785061582574730, 2185194620014831856}; !slices.Equal(ints, want) {
		t.Errorf("hash_array([1, 2, 3]) = %v, want %v", ints, want)
	}
	var strs []uint64
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghi", "é✓😀"} {
		strs = append(strs, hashString(s))
	}
	if want := []uint64{1760245841805064774, 13950350942979735504, 14134741551282487882, 10393084464910488326, 13045524106874423035}; !slices.Equal(strs, want) {
		t.Errorf("hash_array of strings = %v, want %v", strs, want)
	}
	f32 := []uint64{hashFloat32(1.5), hashFloat32(float32(math.Copysign(0, -1))), hashFloat32(float32(math.NaN()))}
	if want := []uint64{10791150382856009070, 0, 2282517194347157251}; !slices.Equal(f32, want) {
		t.Errorf("hash_array(float32 [1.5, -0.0, nan]) = %v, want %v", f32, want)
	}
	i8 := []uint64{hashInt(-1, 1), hashInt(2, 1)}
	if want := []uint64{3715836577830171958, 15839785061582574730}; !slices.Equal(i8, want) {
		t.Errorf("hash_array(int8 [-1, 2]) = %v, want %v", i8, want)
	}
	if hashFloat64(math.NaN()) != hashFloat64(math.Float64frombits(0x7ff8000000000000)) || hashFloat64(math.Copysign(0, -1)) != hashFloat64(0) {
		t.Error("hashFloat64 does not canonicalize NaN and -0.0 as pandas 3 does")
	}
}

func TestPandasHashObject(t *testing.T) {
	index := []uint64{hashInt(0, 8), hashInt(1, 8), hashInt(2, 8)}
	series := combineHashArrays([][]uint64{{hashInt(1, 8), hashInt(2, 8), hashInt(3, 8)}, index}, 3)
	if want := []uint64{14639053686158035780, 3869563279212530728, 393322362522515241}; !slices.Equal(series, want) {
		t.Errorf("hash_pandas_object(Series([1, 2, 3])) = %v, want %v", series, want)
	}
	col := []uint64{hashString("a"), hashString("b"), hashString("c")}
	if want := []uint64{5694802365760992243, 2797248057711234736, 18202460376300699891}; !slices.Equal(combineHashArrays([][]uint64{col}, 3), want) {
		t.Errorf("hash_pandas_object(DataFrame({'a': ['a','b','c']}), index=False) = %v, want %v", combineHashArrays([][]uint64{col}, 3), want)
	}
	if got, want := combineHashArrays([][]uint64{col, index}, 3), []uint64{4578374827886788867, 17338122309987883691, 5473791562133574857}; !slices.Equal(got, want) {
		t.Errorf("hash_pandas_object(DataFrame({'a': ['a','b','c']})) = %v, want %v", got, want)
	}
	if got := combineHashArrays(nil, 2); !slices.Equal(got, []uint64{0x345678 + 97531, 0x345678 + 97531}) {
		t.Errorf("combine_hash_arrays of nothing = %v", got)
	}
}
