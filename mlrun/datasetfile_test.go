package mlrun

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzReadCSV checks that the CSV reader never panics, and that a table it
// reads is rectangular and yields a dataset.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,a,,a.1\n1,2,3,4\n", "\ufeffx\n\"q\"\"\",\n", "a\n1e3\n-inf\nNA\n", "a,b\nTrue,\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := readCSV(bytes.NewReader(data), ',')
		if err != nil {
			return
		}
		for _, c := range tb.cols {
			if len(c.vals) != tb.rows {
				t.Fatalf("column %q has %d values for %d rows", c.name, len(c.vals), tb.rows)
			}
		}
		cfg := &datasetConfig{name: "d"}
		if _, err := tb.dataset(cfg, "/x.csv"); err != nil && !strings.Contains(err.Error(), "UTF-8") {
			t.Fatalf("dataset of a table read: %v", err)
		}
	})
}

func npyFile(descr, shape string, fortran bool, data []byte) []byte {
	order := "False"
	if fortran {
		order = "True"
	}
	h := "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': (" + shape + "), }"
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestReadNpyFortran(t *testing.T) {
	// A 2x3 int16 array stored column-major: [[1 2 3] [4 5 6]].
	raw := []byte{1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6, 0}
	tn, err := readNpy(bytes.NewReader(npyFile("<i2", "2, 3", true, raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := tn.Data.([]int16)
	if !ok || len(got) != 6 || got[0] != 1 || got[1] != 2 || got[3] != 4 || got[5] != 6 {
		t.Errorf("Fortran-order data = %v (%T), want [1 2 3 4 5 6]", tn.Data, tn.Data)
	}
	if _, err := readNpy(bytes.NewReader(npyFile("<i2", "", false, raw[:2]))); err == nil {
		t.Error("a 0-d array was accepted")
	}
	if _, err := readNpy(bytes.NewReader(npyFile("<c16", "1,", false, make([]byte, 16)))); err == nil {
		t.Error("a complex array was accepted")
	}
	if _, err := readNpy(bytes.NewReader(npyFile("<i2", "4,", false, raw[:4]))); err == nil {
		t.Error("truncated data was accepted")
	}
}

// FuzzReadNpy checks that the .npy reader never panics and that an array
// it reads has as many elements as its shape says.
func FuzzReadNpy(f *testing.F) {
	f.Add(npyFile("<f8", "2,", false, make([]byte, 16)))
	f.Add(npyFile(">i4", "1, 2", true, make([]byte, 8)))
	f.Add(npyFile("<U2", "1,", false, []byte{'a', 0, 0, 0, 0, 0, 0, 0}))
	f.Add(npyFile("|b1", "3,", false, []byte{0, 1, 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tn, err := readNpy(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := tn.info(); err != nil {
			t.Fatalf("array read has an invalid shape or type: %v", err)
		}
	})
}
