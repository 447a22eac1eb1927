package archive

import (
	"context"
	"fmt"
	"slices"

	"github.com/mlrun-go/mlrun/store"
)

// Convert copies every entity of each source store into dst, in order,
// as Export piped into Import without a file in between (the sources are
// read as they are, entity by entity: memory stays flat). Ids are kept;
// several sources are merged, experiments matched by name. Each source is
// checked whole against dst before anything of it is written, so a
// conflict in source i leaves the sources before it imported and nothing
// of source i.
func Convert(ctx context.Context, dst store.Store, srcs []store.Store, opts ImportOptions) (Stats, error) {
	var total Stats
	for i, src := range srcs {
		var notes []string
		st, err := importSource(ctx, dst, storeSource(src, ExportOptions{}, &notes), opts, nil)
		if err != nil {
			if len(srcs) > 1 {
				err = fmt.Errorf("source %d of %d: %w", i+1, len(srcs), err)
			}
			return total, err
		}
		st.Notes = append(st.Notes, dedupe(notes)...)
		total.merge(st)
	}
	return total, nil
}

// dedupe removes repeated notes (a source is read twice), keeping order.
func dedupe(notes []string) []string {
	var out []string
	for _, n := range notes {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
