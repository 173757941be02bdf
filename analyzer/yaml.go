package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// yamlToJSON converts a YAML judge input to JSON for DecodeRequest, so that
// both forms go through the same field decoders and errors. It differs from a
// generic conversion where a generic one loses what the judge needs:
//   - .nan, .inf and -.inf become the strings "NaN", "+Inf" and "-Inf", which
//     samples accept as JSON input writes them and number fields reject with
//     their path (JSON has no such numbers, so a generic conversion fails
//     without naming the field);
//   - a key repeated in a mapping is kept twice, for the decoders to refuse
//     with its path instead of taking the last value;
//   - the untagged, unquoted words YAML 1.1 reads as booleans (y, yes, on,
//     n, no, off in Kubernetes' spellings) are booleans, as in the manifests
//     Kubernetes reads.
//
// Aliases are expanded, up to a few times the input's size in bytes, which
// bounds what a document of nested aliases can cost (every node writes at
// least a byte, so the nodes are bounded too).
func yamlToJSON(data []byte) ([]byte, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	case len(next.Content) == 0 || next.Content[0].ShortTag() == "!!null" && next.Content[0].Value == "":
		// a trailing "---" with nothing after it
	default:
		return nil, fmt.Errorf("line %d: a second YAML document (after ---); give one document with config and metrics", next.Line)
	}
	c := yamlConverter{maxBytes: 4*len(data) + 1024}
	if len(doc.Content) == 0 {
		return []byte("null"), nil
	}
	if err := c.node(doc.Content[0], ""); err != nil {
		return nil, err
	}
	return c.out.Bytes(), nil
}

type yamlConverter struct {
	out bytes.Buffer
	// maxBytes is how long the output may grow.
	maxBytes int
}

var errYAMLTooLarge = errors.New("its aliases expand to more than a few times its size; write the repeated parts out")

func (c *yamlConverter) node(n *yaml.Node, path string) error {
	if c.out.Len() > c.maxBytes {
		return errYAMLTooLarge
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.node(n.Alias, path)
	case yaml.MappingNode:
		c.out.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			for k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s: line %d: a key must be a plain value, not a list or mapping", orInput(path), k.Line)
			}
			if k.ShortTag() == "!!merge" {
				return fmt.Errorf("%s: line %d: merge keys (<<) are not supported; write the fields out", orInput(path), k.Line)
			}
			if i > 0 {
				c.out.WriteByte(',')
			}
			writeJSONString(&c.out, k.Value)
			c.out.WriteByte(':')
			if err := c.node(v, joinPath(path, k.Value)); err != nil {
				return err
			}
		}
		c.out.WriteByte('}')
	case yaml.SequenceNode:
		c.out.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				c.out.WriteByte(',')
			}
			if err := c.node(item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		c.out.WriteByte(']')
	default:
		return c.scalar(n, path)
	}
	return nil
}

func (c *yamlConverter) scalar(n *yaml.Node, path string) error {
	plain := n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	switch n.ShortTag() {
	case "!!null":
		c.out.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("%s: line %d: %w", orInput(path), n.Line, err)
		}
		c.out.WriteString(strconv.FormatBool(b))
	case "!!int", "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("%s: line %d: %q is not a number", orInput(path), n.Line, n.Value)
		}
		switch {
		case math.IsNaN(v):
			c.out.WriteString(`"NaN"`)
		case math.IsInf(v, 1):
			c.out.WriteString(`"+Inf"`)
		case math.IsInf(v, -1):
			c.out.WriteString(`"-Inf"`)
		default:
			c.out.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	default:
		if plain {
			if b, ok := yaml11Bools[n.Value]; ok {
				c.out.WriteString(strconv.FormatBool(b))
				return nil
			}
			// A number too large for float64 reads as a string in YAML;
			// pass it on as a number, for the decoders to say so.
			if _, err := strconv.ParseFloat(n.Value, 64); errors.Is(err, strconv.ErrRange) && json.Valid([]byte(n.Value)) {
				c.out.WriteString(n.Value)
				return nil
			}
		}
		writeJSONString(&c.out, n.Value)
	}
	return nil
}

// yaml11Bools are the booleans of YAML 1.1 that YAML 1.2 reads as strings,
// spelt as Kubernetes' YAML reader accepts them (true and false are
// booleans in both).
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
