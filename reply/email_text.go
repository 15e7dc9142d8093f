package reply

import (
	"html"
	"io"
	"strings"

	"github.com/emersion/go-message"
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
var htmlBreakTags = map[string]bool{
	"br": true, "p": true, "div": true, "li": true, "tr": true, "table": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"hr": true, "pre": true, "ul": true, "ol": true,
}

// htmlSkipTags have content that is never reply text.
var htmlSkipTags = map[string]bool{"head": true, "style": true, "script": true, "title": true}

// htmlToText is a deliberately crude HTML-to-text conversion for HTML-only
// replies: block tags become line breaks, head/style/script are dropped,
// everything inside <blockquote> (how Gmail, Apple Mail and Thunderbird
// mark quoted text) is dropped, other tags vanish and entities are decoded.
// It is linear in the input and never fails.
func htmlToText(src string) string {
	lower := asciiLower(src) // same byte offsets as src
	var out strings.Builder
	quoteDepth := 0
	i := 0
	for i < len(src) {
		lt := strings.IndexByte(src[i:], '<')
		if lt < 0 {
			if quoteDepth == 0 {
				out.WriteString(html.UnescapeString(src[i:]))
			}
			break
		}
		if quoteDepth == 0 {
			out.WriteString(html.UnescapeString(src[i : i+lt]))
		}
		i += lt
		if strings.HasPrefix(src[i:], "<!--") {
			end := strings.Index(src[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		gt := strings.IndexByte(src[i:], '>')
		if gt < 0 {
			break // unterminated tag: the rest is markup debris
		}
		name, closing := htmlTagName(lower[i+1 : i+gt])
		i += gt + 1
		switch {
		case name == "blockquote" && !closing:
			quoteDepth++
		case name == "blockquote" && closing:
			if quoteDepth > 0 {
				quoteDepth--
			}
			out.WriteByte('\n')
		case htmlSkipTags[name] && !closing:
			end := strings.Index(lower[i:], "</"+name)
			if end < 0 {
				i = len(src)
				continue
			}
			i += end
		case htmlBreakTags[name]:
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// htmlTagName returns the lower-case element name of a tag body such as
// "/div class=x" and whether it is a closing tag.
func htmlTagName(tag string) (string, bool) {
	closing := strings.HasPrefix(tag, "/")
	tag = strings.TrimPrefix(tag, "/")
	end := 0
	for end < len(tag) && (tag[end] >= 'a' && tag[end] <= 'z' || tag[end] >= '0' && tag[end] <= '9') {
		end++
	}
	return tag[:end], closing
}
