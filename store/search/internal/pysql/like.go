package pysql

import "unicode/utf8"

// Like is SQLite's case-sensitive LIKE without ESCAPE: % matches
// any run of characters (newlines included), _ exactly one, with the usual
// greedy backtracking over the last %, in linear space.
func Like(s, p string) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '%':
				starP, starS = pi, si
				pi++
				continue
			case '_':
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			default:
				_, pn := utf8.DecodeRuneInString(p[pi:])
				_, sn := utf8.DecodeRuneInString(s[si:])
				if pn == sn && p[pi:pi+pn] == s[si:si+sn] {
					si += sn
					pi += pn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		si = starS
		pi = starP + 1
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
