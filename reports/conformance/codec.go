package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// File names of the report in REPORT_DIR.
const (
	FileYAML = "conformance-report.yaml"
	FileJSON = "conformance-report.json"
)

// ComputeDigest returns "sha256:<hex>" over the canonical serialisation of
// r without its digest: encoding/json of the Go types (fields in schema
// order, map keys sorted, no indentation).
func ComputeDigest(r *Report) (string, error) {
	c := *r
	c.Digest = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("serialising the report for its digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// MarshalJSON returns the report as indented JSON.
func MarshalJSON(r *Report) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// MarshalYAML returns the report as YAML (the same content as MarshalJSON).
func MarshalYAML(r *Report) ([]byte, error) {
	return yaml.Marshal(r)
}

// WriteData writes dir/conformance-report.yaml and .json and returns their paths.
func WriteData(dir string, r *Report) (yamlPath, jsonPath string, err error) {
	y, err := MarshalYAML(r)
	if err != nil {
		return "", "", err
	}
	j, err := MarshalJSON(r)
	if err != nil {
		return "", "", err
	}
	yamlPath, jsonPath = filepath.Join(dir, FileYAML), filepath.Join(dir, FileJSON)
	if err := WriteFile(yamlPath, y); err != nil {
		return "", "", err
	}
	if err := WriteFile(jsonPath, j); err != nil {
		return "", "", err
	}
	return yamlPath, jsonPath, nil
}

// writeFile writes atomically (a temporary file renamed), so a reader never
// sees half a report.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a report in YAML or JSON. It checks the document's identity
// (apiVersion, kind), the schema and the field types, but not the digest
// or the derived fields: Verify does.
func Load(path string) (*Report, error) {
	doc, err := readDocument(path)
	if err != nil {
		return nil, err
	}
	if err := validateSchema(doc.value); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.decode(path)
}

// document is a report file parsed to JSON.
type document struct {
	json  []byte
	value any
}

func readDocument(path string) (document, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return document{}, fmt.Errorf("reading the report: %w", err)
	}
	return parseDocument(path, raw)
}

func parseDocument(path string, raw []byte) (document, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return document{}, fmt.Errorf("%s is empty: want a conformance report (YAML or JSON, kind %s)", path, Kind)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return document{}, fmt.Errorf("%s is neither YAML nor JSON (truncated or not a report?): %w", path, err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return document{}, fmt.Errorf("%s: %w", path, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		hint := ""
		if _, isList := v.([]any); isList {
			hint = " (a list: is it Ginkgo's report.json? build the report from it first)"
		}
		return document{}, fmt.Errorf("%s is not a conformance report: the document is %s%s, want a mapping with apiVersion %s and kind %s", path, kindOf(v), hint, APIVersion, Kind)
	}
	kind, _ := obj["kind"].(string)
	api, _ := obj["apiVersion"].(string)
	switch {
	case kind != Kind:
		return document{}, fmt.Errorf("%s is not a conformance report: kind %q, want %q", path, kind, Kind)
	case api == "":
		return document{}, fmt.Errorf("%s has no apiVersion: want %s", path, APIVersion)
	case api != APIVersion:
		return document{}, fmt.Errorf("%s has the unknown schema version apiVersion %q: this build reads %s only; use the ambient-e2e release that wrote it", path, api, APIVersion)
	}
	return document{json: j, value: v}, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case string:
		return "a plain string"
	case []any:
		return "a list"
	case float64, bool:
		return "a scalar"
	}
	return fmt.Sprintf("%T", v)
}

func (d document) decode(path string) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(d.json))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
