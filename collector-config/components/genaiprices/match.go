// Copyright hypertool observability authors
// SPDX-License-Identifier: Apache-2.0

package genaiprices

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clause is genai-prices' match logic (MatchLogic), compiled. Its input is already
// lowercased as genai-prices lowercases it; its literals are lowercased at load.
type clause interface {
	match(text string) bool
}

type (
	equalsClause     string
	startsWithClause string
	endsWithClause   string
	containsClause   string
	anyClause        []clause
	allClause        []clause
	// regexClause is a Python pattern as Go regexps: it matches where every one of must
	// and none of mustNot does (a leading lookahead is one of them: RE2 has none).
	regexClause struct {
		pattern       string
		must, mustNot []*regexp.Regexp
	}
)

func (c equalsClause) match(text string) bool     { return text == string(c) }
func (c startsWithClause) match(text string) bool { return strings.HasPrefix(text, string(c)) }
func (c endsWithClause) match(text string) bool   { return strings.HasSuffix(text, string(c)) }
func (c containsClause) match(text string) bool   { return strings.Contains(text, string(c)) }

func (c anyClause) match(text string) bool {
	for _, sub := range c {
		if sub.match(text) {
			return true
		}
	}
	return false
}

func (c allClause) match(text string) bool {
	for _, sub := range c {
		if !sub.match(text) {
			return false
		}
	}
	return true
}

func (c *regexClause) match(text string) bool {
	for _, re := range c.must {
		if !re.MatchString(text) {
			return false
		}
	}
	for _, re := range c.mustNot {
		if re.MatchString(text) {
			return false
		}
	}
	return true
}

// pyLower is Python's str.lower, which genai-prices applies to model and provider names:
// Go's simple case mapping plus the one unconditional special case, U+0130 (İ) to "i̇".
// Python's conditional Final_Sigma rule (a word-final Σ lowers to ς) is not applied: ς
// and σ are both one non-ASCII character, which no pattern of the data tells apart.
func pyLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			var b strings.Builder
			b.Grow(len(s) + 1)
			for _, r := range s {
				if r == '\u0130' {
					b.WriteString("i\u0307")
				} else {
					b.WriteRune(unicode.ToLower(r))
				}
			}
			return b.String()
		}
	}
	return strings.ToLower(s) // no allocation when s has no upper case
}

// pyStrip is Python's str.strip(): Unicode white space and the separators U+001C-U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// errPattern: a Python pattern this package cannot match exactly as Python does.
var errPattern = errors.New("regex feature Go's RE2 cannot match as Python's re does")

// compileRegex compiles a ClauseRegex pattern, which genai-prices searches (re.search) in
// the lowercased name, into Go regexps that match exactly the same strings:
//
//   - a leading lookahead, ^(?!X)REST or ^(?=X)REST, becomes "not ^(?:X)" or "^(?:X)",
//     and ^REST (RE2 has no lookaround; at the start these are exact);
//   - $ becomes (?:\n?\z): Python's $ also matches before a final newline;
//   - \d and \D become \p{Nd} and \P{Nd}: Python's are Unicode digits;
//   - {,n} becomes {0,n}.
//
// Anything else whose meaning differs (lookarounds elsewhere, backreferences, \w \s \b
// and the like, inline flags, nested sets) is an error naming the pattern.
func compileRegex(pattern string) (*regexClause, error) {
	must, mustNot, err := splitLookaheads(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pattern, err)
	}
	c := &regexClause{pattern: pattern}
	for i, list := range [][]string{must, mustNot} {
		for _, part := range list {
			goPattern, err := convertPattern(part)
			if err != nil {
				return nil, fmt.Errorf("regex %q: %w", pattern, err)
			}
			re, err := regexp.Compile(goPattern)
			if err != nil {
				return nil, fmt.Errorf("regex %q (as Go %q): %w", pattern, goPattern, err)
			}
			if i == 0 {
				c.must = append(c.must, re)
			} else {
				c.mustNot = append(c.mustNot, re)
			}
		}
	}
	return c, nil
}

// splitLookaheads takes the lookaheads off the start of a pattern: what the name must and
// must not match, still in Python's syntax.
func splitLookaheads(p string) (must, mustNot []string, err error) {
	for strings.HasPrefix(p, "^(?!") || strings.HasPrefix(p, "^(?=") {
		end, err := groupEnd(p, 1)
		if err != nil {
			return nil, nil, err
		}
		rest := p[end+1:]
		if topLevelBar(rest) {
			// ^(?!X)A|B: the lookahead binds only the first alternative.
			return nil, nil, fmt.Errorf("%w: a lookahead before an alternation", errPattern)
		}
		cond := "^(?:" + p[4:end] + ")"
		if p[3] == '!' {
			mustNot = append(mustNot, cond)
		} else {
			must = append(must, cond)
		}
		p = "^" + rest
	}
	if p != "^" {
		must = append(must, p)
	}
	return must, mustNot, nil
}

// groupEnd is the index of the parenthesis that closes the group opened at p[open].
func groupEnd(p string, open int) (int, error) {
	depth := 0
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			end, err := classEnd(p, i)
			if err != nil {
				return 0, err
			}
			i = end
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: an unclosed group", errPattern)
}

// topLevelBar: p has an alternation outside every group.
func topLevelBar(p string) bool {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			end, err := classEnd(p, i)
			if err != nil {
				return true // refused later anyway
			}
			i = end
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// classEnd is the index of the ] that closes the set opened at p[open] (Python: a ]
// right after [ or [^ is a member).
func classEnd(p string, open int) (int, error) {
	i := open + 1
	if i < len(p) && p[i] == '^' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case ']':
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: an unclosed set", errPattern)
}

// convertPattern rewrites a Python pattern (without lookarounds) in RE2's syntax.
func convertPattern(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		switch c := p[i]; {
		case c == '\\':
			n, err := convertEscape(&b, p, i)
			if err != nil {
				return "", err
			}
			i += n
		case c == '[':
			end, err := classEnd(p, i)
			if err != nil {
				return "", err
			}
			if err := convertClass(&b, p[i+1:end]); err != nil {
				return "", err
			}
			i = end + 1
		case c == '(' && strings.HasPrefix(p[i:], "(?"):
			switch {
			case strings.HasPrefix(p[i:], "(?:"):
				b.WriteString("(?:")
				i += 3
			case strings.HasPrefix(p[i:], "(?P<"):
				b.WriteString("(?P<")
				i += 4
			default:
				return "", fmt.Errorf("%w: the group at %q", errPattern, p[i:])
			}
		case c == '$':
			b.WriteString(`(?:\n?\z)`)
			i++
		case c == '{' && strings.HasPrefix(p[i:], "{,"):
			b.WriteString("{0,")
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// convertClass writes a set: Python's members, as RE2 reads them.
func convertClass(b *strings.Builder, body string) error {
	b.WriteByte('[')
	i := 0
	if strings.HasPrefix(body, "^") {
		b.WriteByte('^')
		i++
	}
	if i < len(body) && body[i] == ']' {
		b.WriteString(`\]`)
		i++
	}
	for i < len(body) {
		switch body[i] {
		case '\\':
			n, err := convertEscape(b, body, i)
			if err != nil {
				return err
			}
			i += n
		case '[':
			// Python: a literal [; RE2: perhaps a POSIX class ([:alpha:]).
			return fmt.Errorf("%w: a [ inside a set", errPattern)
		default:
			b.WriteByte(body[i])
			i++
		}
	}
	b.WriteByte(']')
	return nil
}

// convertEscape writes the escape at p[i] and returns its length.
func convertEscape(b *strings.Builder, p string, i int) (int, error) {
	if i+1 >= len(p) {
		return 0, fmt.Errorf("%w: a trailing backslash", errPattern)
	}
	switch e := p[i+1]; {
	case e == 'd':
		b.WriteString(`\p{Nd}`)
	case e == 'D':
		b.WriteString(`\P{Nd}`)
	case e == 'Z':
		b.WriteString(`\z`)
	case strings.IndexByte("Antrfvax", e) >= 0, e < utf8.RuneSelf && !isAlnum(e):
		b.WriteString(p[i : i+2])
	default:
		return 0, fmt.Errorf("%w: the escape \\%c", errPattern, e)
	}
	return 2, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// normalizeCompactDates is genai-prices' _normalize_compact_dated_ref: a compact date
// suffix ("-20251211", followed by "-", ":" or the end) in its dashed form
// ("-2025-12-11"), when it is a real date. Python's \d (a Unicode digit) and $ (the end,
// or before a final newline) as they are there.
func normalizeCompactDates(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			continue
		}
		end, year, month, day, ok := compactDate(s, i+1)
		if !ok || !(end == len(s) || s[end] == '-' || s[end] == ':' || (s[end] == '\n' && end+1 == len(s))) {
			continue
		}
		if validDate(year, month, day) {
			b.WriteString(s[last:i])
			fmt.Fprintf(&b, "-%04d-%02d-%02d", year, month, day)
			last = end
		}
		i = end - 1 // re.sub goes on after the match
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// compactDate reads (20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]) at s[i:]: where it
// ends, and the date.
func compactDate(s string, i int) (end, year, month, day int, ok bool) {
	var r [8]rune
	for k := range r {
		if i >= len(s) {
			return 0, 0, 0, 0, false
		}
		var n int
		r[k], n = utf8.DecodeRuneInString(s[i:])
		i += n
	}
	y3, ok3 := digitValue(r[2])
	y4, ok4 := digitValue(r[3])
	if r[0] != '2' || r[1] != '0' || !ok3 || !ok4 {
		return 0, 0, 0, 0, false
	}
	switch {
	case r[4] == '0' && r[5] >= '1' && r[5] <= '9', r[4] == '1' && r[5] >= '0' && r[5] <= '2':
		month = int(r[4]-'0')*10 + int(r[5]-'0')
	default:
		return 0, 0, 0, 0, false
	}
	switch d8, isDigit := digitValue(r[7]); {
	case r[6] == '0' && r[7] >= '1' && r[7] <= '9', r[6] == '3' && (r[7] == '0' || r[7] == '1'):
		day = int(r[6]-'0')*10 + int(r[7]-'0')
	case (r[6] == '1' || r[6] == '2') && isDigit:
		day = int(r[6]-'0')*10 + d8
	default:
		return 0, 0, 0, 0, false
	}
	return i, 2000 + y3*10 + y4, month, day, true
}

// digitValue is the value of a Unicode decimal digit (category Nd, Python's \d), which
// come in runs of ten from 0 to 9.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < utf8.RuneSelf || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

func validDate(year, month, day int) bool {
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day >= 1 && day <= days
}
