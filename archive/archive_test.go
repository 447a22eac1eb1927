package archive

import (
	"testing"
)

// TestRoundTrip exports a rich store of each kind and imports it into a
// new store of each kind: what the destination shows equals what the
// source shows (metric values as a SQL store keeps them when either side
// is SQLite), and importing the archive again changes nothing.
func TestRoundTrip(t *testing.T) {
	for _, from := range everyKinds {
		for _, to := range everyKinds {
			t.Run(from.name+"→"+to.name, func(t *testing.T) {
				t.Parallel()
				src := openKind(t, from, t.TempDir())
				ids := fill(t, src, "")
				path := exportFile(t, src, t.TempDir(), ExportOptions{})
				dst := openKind(t, to, t.TempDir())
				st, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
				must(t, err)
				if st.Runs.Created != len(ids) || st.Runs.Unchanged != 0 || st.Experiments.Created != 3 || st.Experiments.Unchanged != 1 {
					t.Errorf("stats %+v", st)
				}
				sql := from.version != "" || to.version != ""
				want, got := viewOf(t, src, sql), viewOf(t, dst, sql)
				if to.version == "2.22.5" || from.version == "2.22.5" {
					want.Models, got.Models = nil, nil
				}
				sameView(t, from.name+" imported into "+to.name, want, got)
				again, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
				must(t, err)
				if again.Changed() || again.Runs.Unchanged != len(ids) {
					t.Errorf("second import changed something: %+v", again)
				}
				sameView(t, "after the second import", want, viewOf(t, dst, sql))
			})
		}
	}
}
