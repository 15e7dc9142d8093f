package config

import (
	"bytes"
	"net/url"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// RedactedValue replaces a secret's literal value in Redacted output.
const RedactedValue = "<redacted>"

// Redacted returns the config text for GET /v1/config: the sources re-encoded
// with the literal value of every secret field (those tagged secret:"true" in
// Config) replaced by "<redacted>". A value that is exactly one ${NAME}
// reference is kept, since it names where the secret lives rather than being
// it. Webhook URLs keep only their scheme and host. Comments are dropped: a
// commented-out old token is still a secret, and a comment's text cannot be
// told apart from one. Several sources are concatenated, each after a
// "# file: NAME" line; indentation is normalized to two spaces.
func Redacted(sources []Source) string {
	var b strings.Builder
	for _, src := range sources {
		if len(sources) > 1 {
			b.WriteString("# file: " + oneLine(src.Name) + "\n")
		}
		b.WriteString(redactSource(src))
	}
	return b.String()
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// redactSource never falls back to the original text: if the source cannot be
// parsed or re-encoded, nothing of it is shown, because an unparseable file
// gives no way to tell which parts are secret.
func redactSource(src Source) string {
	docs, err := parseDocuments(src.Data)
	if err != nil {
		return "# (not valid YAML; content withheld)\n"
	}
	var b bytes.Buffer
	for _, doc := range docs {
		markSecrets(doc, reflect.TypeOf(Config{}), false, map[visitKey]bool{})
		dropComments(doc, map[*yaml.Node]bool{})
		out, err := encodeNode(doc)
		if err != nil {
			return "# (could not be re-encoded; content withheld)\n"
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(out)
	}
	return b.String()
}

func encodeNode(n *yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errEncode
		}
	}()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type encodeError struct{}

func (encodeError) Error() string { return "yaml encoder failed" }

var errEncode error = encodeError{}

// visitKey is one visit of the walk: a node read as a type, as a secret or
// not. An anchored node may be reached as several (a user's name and, by an
// alias, a token): a visit as a secret must not be skipped because the node
// was already read as an ordinary string.
type visitKey struct {
	n      *yaml.Node
	t      reflect.Type
	secret bool
}

// markSecrets walks n alongside type t (as the decoder does) and blanks the
// values of secret fields. Aliases are followed, so a secret given through an
// alias is blanked where its anchor is defined.
func markSecrets(n *yaml.Node, t reflect.Type, secret bool, seen map[visitKey]bool) {
	if n == nil || seen[visitKey{n, t, secret}] {
		return
	}
	seen[visitKey{n, t, secret}] = true
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			markSecrets(c, t, secret, seen)
		}
		return
	case yaml.AliasNode:
		markSecrets(n.Alias, t, secret, seen)
		return
	}
	if secret {
		blank(n)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			f, ok := fields.byName[keyName(n.Content[i])]
			switch {
			case ok && f.urlSecret:
				blankURL(n.Content[i+1])
			case ok:
				markSecrets(n.Content[i+1], t.Field(f.index).Type, f.secret, seen)
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			markSecrets(c, t.Elem(), false, seen)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			markSecrets(n.Content[i], t.Elem(), false, seen)
		}
	}
}

// keyName is the field a mapping key names as the decoder reads it (its
// key method): an alias key stands for its anchor's text, not its name.
func keyName(k *yaml.Node) string {
	if k = resolve(k); k == nil || k.Kind != yaml.ScalarNode {
		return ""
	}
	return k.Value
}

// blank replaces a secret value, keeping a pure ${NAME} reference.
func blank(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && (isPureRef(n.Value) || isNull(n)) {
		return
	}
	n.Kind = yaml.ScalarNode
	n.Tag = "!!str"
	n.Value = RedactedValue
	n.Style = yaml.DoubleQuotedStyle
	n.Content = nil
}

// blankURL keeps a URL's scheme and host and replaces the rest: enough to
// see where webhooks go without the path that often is their credential.
func blankURL(n *yaml.Node) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || isPureRef(n.Value) || isNull(n) {
		if n != nil && n.Kind != yaml.ScalarNode {
			blank(n)
		}
		return
	}
	u, err := url.Parse(n.Value)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.Contains(u.Host, "$") {
		blank(n)
		return
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		n.Value = u.Scheme + "://" + u.Host + "/" + RedactedValue
		n.Style = yaml.DoubleQuotedStyle
		n.Tag = "!!str"
	}
}

// dropComments removes every comment from the tree.
func dropComments(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		dropComments(c, seen)
	}
}
