package pyyaml

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file is a port of the parts of PyYAML 6's pure-Python emitter
// (yaml/emitter.py) that safe_dump reaches with default_flow_style=False,
// allow_unicode=True, default indent (2), width (80) and line break ("\n").
// Function and variable names follow the Python original so the two can be
// compared side by side. Columns count code points, as Python's len does.

const (
	bestIndent = 2
	bestWidth  = 80
)

// noIndent stands for Python's None indentation before the root node.
const noIndent = -1

// noChar stands for Python's None "current character" past the end of a
// scalar.
const noChar rune = -1

// emitter holds the state of PyYAML's Emitter. The states stack of the
// Python event-driven state machine is replaced by recursion over the node
// tree, which also gives the look-ahead Python buffers events for.
type emitter struct {
	buf []byte // output

	indents   []int // enclosing indentations
	indent    int   // current indentation, or noIndent
	flowLevel int   // nesting depth of flow collections

	// Contexts of the node being emitted. sequenceContext is set but, as in
	// PyYAML, never consulted.
	rootContext      bool
	sequenceContext  bool
	mappingContext   bool
	simpleKeyContext bool

	column     int  // current column, in code points
	whitespace bool // the last character written was whitespace
	indention  bool // only indentation (spaces, '-', '?', ':') on this line so far
	openEnded  bool // the document needs a "..." end marker
}

func newEmitter() *emitter {
	return &emitter{indent: noIndent, whitespace: true, indention: true}
}

// emitDocument writes n as the single document of a stream, as
// Serializer.serialize followed by Serializer.close does for one document
// without explicit start or end markers.
func (e *emitter) emitDocument(n *node) {
	// expect_document_start: the start marker is implicit because the root
	// scalar event always carries a tag (check_empty_document is false).
	// expect_document_root:
	e.expectNode(n, true, false, false, false)
	// expect_document_end:
	e.writeIndent()
	// expect_document_start on StreamEndEvent:
	if e.openEnded {
		e.writeIndicator("...", true, false, false)
		e.writeIndent()
	}
}

func (e *emitter) increaseIndent(flow, indentless bool) {
	e.indents = append(e.indents, e.indent)
	if e.indent == noIndent {
		if flow {
			e.indent = bestIndent
		} else {
			e.indent = 0
		}
	} else if !indentless {
		e.indent += bestIndent
	}
}

func (e *emitter) popIndent() {
	e.indent = e.indents[len(e.indents)-1]
	e.indents = e.indents[:len(e.indents)-1]
}

// Node handlers.

func (e *emitter) expectNode(n *node, root, sequence, mapping, simpleKey bool) {
	e.rootContext = root
	e.sequenceContext = sequence
	e.mappingContext = mapping
	e.simpleKeyContext = simpleKey
	switch n.kind {
	case scalarNode:
		e.expectScalar(n)
	case sequenceNode:
		if e.flowLevel > 0 || len(n.items) == 0 {
			e.expectFlowSequence(n)
		} else {
			e.expectBlockSequence(n)
		}
	case mappingNode:
		if e.flowLevel > 0 || len(n.pairs) == 0 {
			e.expectFlowMapping(n)
		} else {
			e.expectBlockMapping(n)
		}
	}
}

func (e *emitter) expectScalar(n *node) {
	e.increaseIndent(true, false)
	e.processScalar(n)
	e.popIndent()
}

// expectFlowSequence handles flow sequences. With default_flow_style=False
// PyYAML only uses the flow style for empty collections, so this port only
// supports those.
func (e *emitter) expectFlowSequence(n *node) {
	if len(n.items) != 0 {
		panic("pyyaml: non-empty flow sequence")
	}
	e.writeIndicator("[", true, true, false)
	e.flowLevel++
	e.increaseIndent(true, false)
	// expect_first_flow_sequence_item on SequenceEndEvent:
	e.popIndent()
	e.flowLevel--
	e.writeIndicator("]", false, false, false)
}

// expectFlowMapping is the mapping counterpart of expectFlowSequence.
func (e *emitter) expectFlowMapping(n *node) {
	if len(n.pairs) != 0 {
		panic("pyyaml: non-empty flow mapping")
	}
	e.writeIndicator("{", true, true, false)
	e.flowLevel++
	e.increaseIndent(true, false)
	// expect_first_flow_mapping_key on MappingEndEvent:
	e.popIndent()
	e.flowLevel--
	e.writeIndicator("}", false, false, false)
}

func (e *emitter) expectBlockSequence(n *node) {
	indentless := e.mappingContext && !e.indention
	e.increaseIndent(false, indentless)
	for _, item := range n.items {
		// expect_block_sequence_item:
		e.writeIndent()
		e.writeIndicator("-", true, false, true)
		e.expectNode(item, false, true, false, false)
	}
	e.popIndent()
}

func (e *emitter) expectBlockMapping(n *node) {
	e.increaseIndent(false, false)
	for _, p := range n.pairs {
		// expect_block_mapping_key:
		e.writeIndent()
		if e.checkSimpleKey(p.key) {
			e.expectNode(p.key, false, false, true, true)
			// expect_block_mapping_simple_value:
			e.writeIndicator(":", false, false, false)
			e.expectNode(p.value, false, false, true, false)
		} else {
			e.writeIndicator("?", true, false, true)
			e.expectNode(p.key, false, false, true, false)
			// expect_block_mapping_value:
			e.writeIndent()
			e.writeIndicator(":", true, false, true)
			e.expectNode(p.value, false, false, true, false)
		}
	}
	e.popIndent()
}

// checkSimpleKey reports whether key can be written as an implicit key
// ("key: value") rather than an explicit one ("? key\n: value").
//
// PyYAML counts the length of the prepared tag ("!!str" for a string) even
// though implicit tags are never written, so a string key must be shorter
// than 128-5 = 123 code points.
func (e *emitter) checkSimpleKey(key *node) bool {
	length := len("!!") + len(key.tag)
	switch key.kind {
	case scalarNode:
		a := analyzeScalar(key.value)
		length += len(a.scalar)
		return length < 128 && !a.empty && !a.multiline
	case sequenceNode:
		return length < 128 && len(key.items) == 0
	default:
		return length < 128 && len(key.pairs) == 0
	}
}

// Scalar processing.

type scalarStyle byte

const (
	plainStyle        scalarStyle = 0
	singleQuotedStyle scalarStyle = '\''
	doubleQuotedStyle scalarStyle = '"'
)

func (e *emitter) chooseScalarStyle(n *node, a *scalarAnalysis) scalarStyle {
	// The representer never sets a style, so event.style is None.
	if n.plainImplicit {
		if !(e.simpleKeyContext && (a.empty || a.multiline)) &&
			(e.flowLevel > 0 && a.allowFlowPlain || e.flowLevel == 0 && a.allowBlockPlain) {
			return plainStyle
		}
	}
	if a.allowSingleQuoted && !(e.simpleKeyContext && a.multiline) {
		return singleQuotedStyle
	}
	return doubleQuotedStyle
}

func (e *emitter) processScalar(n *node) {
	a := analyzeScalar(n.value)
	style := e.chooseScalarStyle(n, a)
	if style != plainStyle && !n.quotedImplicit {
		// process_tag would write an explicit tag such as "!!float". The
		// representer only produces non-str scalars whose text is plain.
		panic(fmt.Sprintf("pyyaml: scalar %q would need an explicit tag", n.value))
	}
	split := !e.simpleKeyContext
	switch style {
	case doubleQuotedStyle:
		e.writeDoubleQuoted(a.scalar, split)
	case singleQuotedStyle:
		e.writeSingleQuoted(a.scalar, split)
	default:
		e.writePlain(a.scalar, split)
	}
}

// scalarAnalysis is PyYAML's ScalarAnalysis: which styles can represent a
// scalar. allowDoubleQuoted and allowBlock are computed for fidelity but
// never needed, since safe_dump never requests block styles and double
// quotes are the fallback.
type scalarAnalysis struct {
	scalar            []rune
	empty             bool
	multiline         bool
	allowFlowPlain    bool
	allowBlockPlain   bool
	allowSingleQuoted bool
	allowDoubleQuoted bool
	allowBlock        bool
}

// isBreak reports whether ch is one of the line breaks PyYAML recognizes.
func isBreak(ch rune) bool {
	return ch == '\n' || ch == '\x85' || ch == '\u2028' || ch == '\u2029'
}

// isBlankOrBreak reports whether ch is in '\0 \t\r\n\x85\u2028\u2029'.
func isBlankOrBreak(ch rune) bool {
	return ch == 0 || ch == ' ' || ch == '\t' || ch == '\r' || isBreak(ch)
}

func analyzeScalar(s string) *scalarAnalysis {
	scalar := []rune(s)

	// Empty scalar is a special case.
	if len(scalar) == 0 {
		return &scalarAnalysis{scalar: scalar, empty: true,
			allowFlowPlain: false, allowBlockPlain: true,
			allowSingleQuoted: true, allowDoubleQuoted: true,
			allowBlock: false}
	}

	// Indicators and special characters.
	blockIndicators := false
	flowIndicators := false
	lineBreaks := false
	specialCharacters := false

	// Important whitespace combinations.
	leadingSpace := false
	leadingBreak := false
	trailingSpace := false
	trailingBreak := false
	breakSpace := false
	spaceBreak := false

	// Check document indicators.
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockIndicators = true
		flowIndicators = true
	}

	// First character or preceded by a whitespace.
	precededByWhitespace := true

	// Last character or followed by a whitespace.
	followedByWhitespace := len(scalar) == 1 || isBlankOrBreak(scalar[1])

	// The previous character is a space.
	previousSpace := false

	// The previous character is a break.
	previousBreak := false

	for index, ch := range scalar {
		// Check for indicators.
		if index == 0 {
			// Leading indicators are special characters.
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				flowIndicators = true
				blockIndicators = true
			}
			if ch == '?' || ch == ':' {
				flowIndicators = true
				if followedByWhitespace {
					blockIndicators = true
				}
			}
			if ch == '-' && followedByWhitespace {
				flowIndicators = true
				blockIndicators = true
			}
		} else {
			// Some indicators cannot appear within a scalar as well.
			if strings.ContainsRune(",?[]{}", ch) {
				flowIndicators = true
			}
			if ch == ':' {
				flowIndicators = true
				if followedByWhitespace {
					blockIndicators = true
				}
			}
			if ch == '#' && precededByWhitespace {
				flowIndicators = true
				blockIndicators = true
			}
		}

		// Check for line breaks, special, and unicode characters.
		if isBreak(ch) {
			lineBreaks = true
		}
		if !(ch == '\n' || '\x20' <= ch && ch <= '\x7E') {
			if (ch == '\x85' || '\u00A0' <= ch && ch <= '\uD7FF' ||
				'\uE000' <= ch && ch <= '\uFFFD' ||
				'\U00010000' <= ch && ch < '\U0010FFFF') && ch != '\uFEFF' {
				// unicode_characters; allowed because allow_unicode=True.
			} else {
				specialCharacters = true
			}
		}

		// Detect important whitespace combinations.
		switch {
		case ch == ' ':
			if index == 0 {
				leadingSpace = true
			}
			if index == len(scalar)-1 {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace = true
			previousBreak = false
		case isBreak(ch):
			if index == 0 {
				leadingBreak = true
			}
			if index == len(scalar)-1 {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace = false
			previousBreak = true
		default:
			previousSpace = false
			previousBreak = false
		}

		// Prepare for the next character.
		precededByWhitespace = isBlankOrBreak(ch)
		followedByWhitespace = index+2 >= len(scalar) || isBlankOrBreak(scalar[index+2])
	}

	// Let's decide what styles are allowed.
	a := &scalarAnalysis{scalar: scalar, multiline: lineBreaks,
		allowFlowPlain: true, allowBlockPlain: true,
		allowSingleQuoted: true, allowDoubleQuoted: true, allowBlock: true}

	// Leading and trailing whitespaces are bad for plain scalars.
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.allowFlowPlain, a.allowBlockPlain = false, false
	}

	// We do not permit trailing spaces for block scalars.
	if trailingSpace {
		a.allowBlock = false
	}

	// Spaces at the beginning of a new line are only acceptable for block
	// scalars.
	if breakSpace {
		a.allowFlowPlain, a.allowBlockPlain, a.allowSingleQuoted = false, false, false
	}

	// Spaces followed by breaks, as well as special character are only
	// allowed for double quoted scalars.
	if spaceBreak || specialCharacters {
		a.allowFlowPlain, a.allowBlockPlain, a.allowSingleQuoted, a.allowBlock = false, false, false, false
	}

	// Although the plain scalar writer supports breaks, we never emit
	// multiline plain scalars.
	if lineBreaks {
		a.allowFlowPlain, a.allowBlockPlain = false, false
	}

	// Flow indicators are forbidden for flow plain scalars.
	if flowIndicators {
		a.allowFlowPlain = false
	}

	// Block indicators are forbidden for block plain scalars.
	if blockIndicators {
		a.allowBlockPlain = false
	}
	return a
}

// Writers.

func (e *emitter) writeRunes(data []rune) {
	for _, r := range data {
		e.buf = utf8.AppendRune(e.buf, r)
	}
	e.column += len(data)
}

func (e *emitter) writeString(data string) {
	e.buf = append(e.buf, data...)
	e.column += utf8.RuneCountInString(data)
}

func (e *emitter) writeIndicator(indicator string, needWhitespace, whitespace, indention bool) {
	if !e.whitespace && needWhitespace {
		indicator = " " + indicator
	}
	e.whitespace = whitespace
	e.indention = e.indention && indention
	e.openEnded = false
	e.writeString(indicator)
}

func (e *emitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.writeLineBreak(noChar)
	}
	if e.column < indent {
		e.whitespace = true
		for range indent - e.column {
			e.buf = append(e.buf, ' ')
		}
		e.column = indent
	}
}

// writeLineBreak writes br, or "\n" for noChar.
func (e *emitter) writeLineBreak(br rune) {
	if br == noChar {
		br = '\n'
	}
	e.whitespace = true
	e.indention = true
	e.column = 0
	e.buf = utf8.AppendRune(e.buf, br)
}

// writeBreaks writes the run of line breaks text[start:end] the way the
// scalar writers do: "\n" as the best line break, others verbatim.
func (e *emitter) writeBreaks(text []rune) {
	for _, br := range text {
		if br == '\n' {
			e.writeLineBreak(noChar)
		} else {
			e.writeLineBreak(br)
		}
	}
}

// at returns text[i], or noChar past the end.
func at(text []rune, i int) rune {
	if i < len(text) {
		return text[i]
	}
	return noChar
}

func (e *emitter) writeSingleQuoted(text []rune, split bool) {
	e.writeIndicator("'", true, false, false)
	spaces := false
	breaks := false
	start, end := 0, 0
	for end <= len(text) {
		ch := at(text, end)
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && e.column > bestWidth && split && start != 0 && end != len(text) {
					e.writeIndent()
				} else {
					e.writeRunes(text[start:end])
				}
				start = end
			}
		case breaks:
			if ch == noChar || !isBreak(ch) {
				if text[start] == '\n' {
					e.writeLineBreak(noChar)
				}
				e.writeBreaks(text[start:end])
				e.writeIndent()
				start = end
			}
		default:
			if ch == noChar || ch == ' ' || isBreak(ch) || ch == '\'' {
				if start < end {
					e.writeRunes(text[start:end])
					start = end
				}
			}
		}
		if ch == '\'' {
			e.writeString("''")
			start = end + 1
		}
		if ch != noChar {
			spaces = ch == ' '
			breaks = isBreak(ch)
		}
		end++
	}
	e.writeIndicator("'", false, false, false)
}

// escapeReplacement returns the letter of PyYAML's ESCAPE_REPLACEMENTS
// for ch, or 0.
func escapeReplacement(ch rune) byte {
	switch ch {
	case '\x00':
		return '0'
	case '\x07':
		return 'a'
	case '\x08':
		return 'b'
	case '\x09':
		return 't'
	case '\x0A':
		return 'n'
	case '\x0B':
		return 'v'
	case '\x0C':
		return 'f'
	case '\x0D':
		return 'r'
	case '\x1B':
		return 'e'
	case '"':
		return '"'
	case '\\':
		return '\\'
	case '\x85':
		return 'N'
	case '\xA0':
		return '_'
	case '\u2028':
		return 'L'
	case '\u2029':
		return 'P'
	}
	return 0
}

// needsEscape reports whether write_double_quoted escapes ch (with
// allow_unicode=True). Note that characters outside the Basic Multilingual
// Plane are always escaped.
func needsEscape(ch rune) bool {
	switch ch {
	case '"', '\\', '\x85', '\u2028', '\u2029', '\uFEFF':
		return true
	}
	return !('\x20' <= ch && ch <= '\x7E' ||
		'\u00A0' <= ch && ch <= '\uD7FF' ||
		'\uE000' <= ch && ch <= '\uFFFD')
}

// writeEscape writes the double-quoted escape sequence of ch: "\\" and a
// letter, or "\\x", "\\u" or "\\U" and 2, 4 or 8 upper-case hex digits.
func (e *emitter) writeEscape(ch rune) {
	start := len(e.buf)
	if r := escapeReplacement(ch); r != 0 {
		e.buf = append(e.buf, '\\', r)
	} else {
		digits := 8
		switch {
		case ch <= 0xFF:
			e.buf = append(e.buf, '\\', 'x')
			digits = 2
		case ch <= 0xFFFF:
			e.buf = append(e.buf, '\\', 'u')
			digits = 4
		default:
			e.buf = append(e.buf, '\\', 'U')
		}
		const hex = "0123456789ABCDEF"
		for i := digits - 1; i >= 0; i-- {
			e.buf = append(e.buf, hex[(ch>>(4*i))&0xF])
		}
	}
	e.column += len(e.buf) - start
}

func (e *emitter) writeDoubleQuoted(text []rune, split bool) {
	e.writeIndicator("\"", true, false, false)
	start, end := 0, 0
	for end <= len(text) {
		ch := at(text, end)
		if ch == noChar || needsEscape(ch) {
			if start < end {
				e.writeRunes(text[start:end])
				start = end
			}
			if ch != noChar {
				e.writeEscape(ch)
				start = end + 1
			}
		}
		if 0 < end && end < len(text)-1 && (ch == ' ' || start >= end) &&
			e.column+(end-start) > bestWidth && split {
			if start < end {
				e.writeRunes(text[start:end])
				start = end
			}
			e.writeString("\\")
			e.writeIndent()
			e.whitespace = false
			e.indention = false
			if text[start] == ' ' {
				e.writeString("\\")
			}
		}
		end++
	}
	e.writeIndicator("\"", false, false, false)
}

func (e *emitter) writePlain(text []rune, split bool) {
	if e.rootContext {
		e.openEnded = true
	}
	if len(text) == 0 {
		return
	}
	if !e.whitespace {
		e.writeString(" ")
	}
	e.whitespace = false
	e.indention = false
	spaces := false
	breaks := false
	start, end := 0, 0
	for end <= len(text) {
		ch := at(text, end)
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && e.column > bestWidth && split {
					e.writeIndent()
					e.whitespace = false
					e.indention = false
				} else {
					e.writeRunes(text[start:end])
				}
				start = end
			}
		case breaks:
			// Unreachable in practice: analyzeScalar never allows plain
			// scalars with line breaks. Kept for fidelity.
			if !isBreak(ch) {
				if text[start] == '\n' {
					e.writeLineBreak(noChar)
				}
				e.writeBreaks(text[start:end])
				e.writeIndent()
				e.whitespace = false
				e.indention = false
				start = end
			}
		default:
			if ch == noChar || ch == ' ' || isBreak(ch) {
				e.writeRunes(text[start:end])
				start = end
			}
		}
		if ch != noChar {
			spaces = ch == ' '
			breaks = isBreak(ch)
		}
		end++
	}
}
