package reststore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// page fetches one page of a search. MLflow's SQL store gives a page that
// is exactly full a next_page_token even when nothing follows (the next
// page is then empty), where mlrun's backends give none. So page asks the
// server for one item more than wanted: if it comes, there is a next page,
// whose token is the server's with the offset moved back by one (MLflow's
// page tokens are base64 JSON objects with an "offset"); if not, the page
// is the last. fetch asks for n items and returns how many came and the
// server's token; page returns how many of them to keep and the token.
func page(ctx context.Context, want, limit int, fetch func(ctx context.Context, n int) (int, string, error)) (int, string, error) {
	if want >= limit {
		n, tok, err := fetch(ctx, want)
		return n, tok, err
	}
	n, tok, err := fetch(ctx, want+1)
	if err != nil {
		return 0, "", err
	}
	if n <= want {
		return n, "", nil
	}
	if next, ok := shiftToken(tok, -1); ok {
		return want, next, nil
	}
	// A token of another shape: ask again for exactly the page.
	n, tok, err = fetch(ctx, want)
	return n, tok, err
}

// shiftToken moves the offset of an MLflow page token by delta, keeping
// every other field.
func shiftToken(tok string, delta int) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "", false
	}
	off, err := strconv.Atoi(string(fields["offset"]))
	if err != nil || off+delta < 0 {
		return "", false
	}
	fields["offset"] = json.RawMessage(strconv.Itoa(off + delta))
	out, err := json.Marshal(fields)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(out), true
}

// isPageToken reports whether tok has the shape of MLflow's page tokens:
// base64 of a JSON object.
func isPageToken(tok string) bool {
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return false
	}
	var fields map[string]json.RawMessage
	return json.Unmarshal(raw, &fields) == nil
}
