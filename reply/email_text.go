package reply

import (
	"io"
	"strings"

	"github.com/emersion/go-message"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// textParts is what the MIME walk found: the first inline text/plain and
// the first inline text/html body.
type textParts struct {
	plain, html string
	hasPlain    bool
	hasHTML     bool
	visited     int
}

// extractText returns the reply's text: the first inline text/plain part
// anywhere in the tree (so multipart/alternative yields its plain
// alternative), else the first text/html part crudely converted to text.
// Transfer encodings and charsets were undone by go-message.
func extractText(e *message.Entity) string {
	var tp textParts
	walkText(e, 0, &tp)
	switch {
	case tp.hasPlain:
		return tp.plain
	case tp.hasHTML:
		return htmlToText(tp.html)
	}
	return ""
}

func walkText(e *message.Entity, depth int, tp *textParts) {
	tp.visited++
	if tp.hasPlain || tp.visited > maxMIMEParts {
		return
	}
	if mr := e.MultipartReader(); mr != nil {
		if depth >= maxMIMEDepth {
			return
		}
		for !tp.hasPlain && tp.visited <= maxMIMEParts {
			// On io.EOF or a broken multipart there is no part: keep what
			// was found. An unknown charset still yields a readable part.
			part, _ := mr.NextPart()
			if part == nil {
				return
			}
			walkText(part, depth+1, tp)
		}
		return
	}
	if disp, _, _ := e.Header.ContentDisposition(); strings.EqualFold(disp, "attachment") {
		return
	}
	mt, _, err := e.Header.ContentType()
	if err != nil && mt == "" {
		mt = "text/plain" // RFC 2045 §5.2 default
	}
	switch strings.ToLower(mt) {
	case "text/plain":
		tp.plain, tp.hasPlain = readText(e.Body), true
	case "text/html":
		if !tp.hasHTML {
			tp.html, tp.hasHTML = readText(e.Body), true
		}
	}
	// message/rfc822 and other types are not descended into: an attached
	// message is quoted material, never the reply.
}

// readText reads up to maxTextBytes of a decoded body. A decoding error
// midway (bad base64, say) keeps what was decoded before it.
func readText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxTextBytes))
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// htmlBreakTags end a line of text when they open or close.
var htmlBreakTags = map[atom.Atom]bool{
	atom.Br: true, atom.P: true, atom.Div: true, atom.Li: true, atom.Tr: true, atom.Table: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Hr: true, atom.Pre: true, atom.Ul: true, atom.Ol: true,
}

// htmlSkipTags have content that is never reply text.
var htmlSkipTags = map[atom.Atom]bool{atom.Head: true, atom.Style: true, atom.Script: true, atom.Title: true}

// htmlToText converts an HTML-only reply to text: block tags become line
// breaks, head/style/script/title are dropped, everything inside
// <blockquote> (how Gmail, Apple Mail and Thunderbird mark quoted text) is
// dropped, other tags vanish and entities are decoded. The HTML5 tokenizer
// (golang.org/x/net/html) finds where tags end, so a '>' inside a quoted
// attribute value does not end the tag early and leak markup into the
// text. It is linear in the input and never fails.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out strings.Builder
	quoteDepth, skipDepth := 0, 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out.String() // io.EOF: the input can hold nothing else
		case html.TextToken:
			if quoteDepth == 0 && skipDepth == 0 {
				out.Write(z.Text())
			}
		case html.StartTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case a == atom.Blockquote:
				quoteDepth++
			case htmlSkipTags[a]:
				skipDepth++
			case htmlBreakTags[a]:
				out.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case a == atom.Blockquote:
				quoteDepth = max(quoteDepth-1, 0)
				out.WriteByte('\n')
			case htmlSkipTags[a]:
				skipDepth = max(skipDepth-1, 0)
			case htmlBreakTags[a]:
				out.WriteByte('\n')
			}
		case html.SelfClosingTagToken:
			name, _ := z.TagName()
			if htmlBreakTags[atom.Lookup(name)] {
				out.WriteByte('\n')
			}
		}
		// Comments and doctypes are never text.
	}
}
