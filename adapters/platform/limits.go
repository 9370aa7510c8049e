package platform

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// Limits on an HCL source (a platform file, the daemon's config file),
// checked by CheckLimits before hclsyntax sees it: hclsyntax parses
// recursively, so deep nesting costs it stack and memory without bound
// (150,000 nested brackets overflow the Go stack, which no recover can
// catch). A real platform or config file is far inside them.
const (
	MaxSourceBytes = 1 << 20 // bytes of one source
	MaxNesting     = 32      // open brackets, parentheses, braces, strings and ${ } templates at once
	MaxBlocks      = 10000   // { of blocks and object literals
	MaxAttributes  = 50000   // = of attributes and object items
)

// scanFrame is one open construct of the pre-parser.
type scanFrame struct {
	kind   byte   // '(' '[' '{', '"' a quoted string, '<' a heredoc, '$' a template interpolation
	marker []byte // a heredoc's closing marker
}

// ErrTooComplex is the cause of the *Error of a source past a limit.
var ErrTooComplex = errors.New("HCL source past a limit")

// CheckLimits returns the located *Error (wrapping ErrTooComplex) of an
// HCL source past a limit, or nil. Parse calls it; so must every other
// reader of HCL that a user controls, before hclsyntax or hclsimple.
func CheckLimits(filename string, src []byte) error {
	if err := checkLimits(filename, src); err != nil {
		return err
	}
	return nil
}

// ReadSource reads an HCL file of at most MaxSourceBytes, without reading
// more of a larger one (or of a device that never ends).
func ReadSource(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	src, err := io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxSourceBytes {
		return nil, limitError(path, 1, 1, fmt.Sprintf("the file is more than %d bytes", MaxSourceBytes))
	}
	return src, nil
}

// checkLimits reads src as far as HCL's lexical structure (strings,
// heredocs, comments, templates) needs to count nesting, blocks and
// attributes, and returns a located error on the first limit passed. It
// does not judge syntax: what it lets through, hclsyntax still checks.
func checkLimits(filename string, src []byte) *Error {
	if len(src) > MaxSourceBytes {
		return limitError(filename, 1, 1, fmt.Sprintf("the source is %d bytes, at most %d", len(src), MaxSourceBytes))
	}
	var stack []scanFrame
	blocks, attrs := 0, 0
	line, lineStart := 1, 0
	top := func() byte {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1].kind
	}
	push := func(f scanFrame, at int) *Error {
		stack = append(stack, f)
		if len(stack) > MaxNesting {
			return limitError(filename, line, at-lineStart+1, fmt.Sprintf("nesting is deeper than %d levels", MaxNesting))
		}
		return nil
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line, lineStart = line+1, i+1
		}
		switch top() {
		case '"', '<':
			if top() == '"' && c == '\\' {
				i++
				continue
			}
			if top() == '"' && c == '"' {
				stack = stack[:len(stack)-1]
				continue
			}
			if top() == '<' && c == '\n' {
				end := bytes.IndexByte(src[i+1:], '\n')
				if end < 0 {
					end = len(src) - i - 1
				}
				if bytes.Equal(bytes.TrimSpace(src[i+1:i+1+end]), stack[len(stack)-1].marker) {
					stack = stack[:len(stack)-1]
				}
				continue
			}
			if (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{' {
				if i > 0 && src[i-1] == c { // $${ and %%{ are literal
					continue
				}
				if err := push(scanFrame{kind: '$'}, i); err != nil {
					return err
				}
				i++
			}
			continue
		}
		// expression or body context
		switch {
		case c == '#' || (c == '/' && i+1 < len(src) && src[i+1] == '/'):
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil // unterminated: hclsyntax reports it
			}
			for _, b := range src[i : i+2+end] {
				if b == '\n' {
					line++
				}
			}
			i += 2 + end + 1
			lineStart = bytes.LastIndexByte(src[:i], '\n') + 1
		case c == '"':
			if err := push(scanFrame{kind: '"'}, i); err != nil {
				return err
			}
		case c == '<' && i+1 < len(src) && src[i+1] == '<':
			j := i + 2
			if j < len(src) && src[j] == '-' {
				j++
			}
			k := j
			for k < len(src) && (src[k] == '_' || src[k] == '-' || (src[k]|0x20 >= 'a' && src[k]|0x20 <= 'z') || (src[k] >= '0' && src[k] <= '9')) {
				k++
			}
			if k == j || k >= len(src) || (src[k] != '\n' && src[k] != '\r') {
				i++ // not a heredoc: the << is hclsyntax's to judge
				continue
			}
			if err := push(scanFrame{kind: '<', marker: src[j:k]}, i); err != nil {
				return err
			}
			i = k - 1
		case c == '(' || c == '[' || c == '{':
			if c == '{' {
				if blocks++; blocks > MaxBlocks {
					return limitError(filename, line, i-lineStart+1, fmt.Sprintf("more than %d blocks and objects", MaxBlocks))
				}
			}
			if err := push(scanFrame{kind: c}, i); err != nil {
				return err
			}
		case c == ')' || c == ']' || c == '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == '=':
			next := byte(0)
			if i+1 < len(src) {
				next = src[i+1]
			}
			prev := byte(0)
			if i > 0 {
				prev = src[i-1]
			}
			if next == '=' || next == '>' || prev == '=' || prev == '!' || prev == '<' || prev == '>' {
				continue
			}
			if attrs++; attrs > MaxAttributes {
				return limitError(filename, line, i-lineStart+1, fmt.Sprintf("more than %d attributes and object items", MaxAttributes))
			}
		}
	}
	return nil
}

// limitError is the located *Error of a passed limit.
func limitError(filename string, line, column int, what string) *Error {
	pos := hcl.Pos{Line: line, Column: column}
	err := newError(filename, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Source too complex",
		Detail:   what + "; split or simplify the file",
		Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
	}})
	err.cause = ErrTooComplex
	return err
}
