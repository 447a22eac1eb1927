package mlrun

// ParamStringErr is the error paramString gives for v: non-nil when v
// holds itself or nests too deep (what LogParam refuses).
func ParamStringErr(v any) error {
	_, err := paramString(v)
	return err
}
