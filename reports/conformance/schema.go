package conformance

import (
	"bytes"
	_ "embed" // the committed schema
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	invopop "github.com/invopop/jsonschema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SchemaFile is the committed JSON Schema of the report, next to this file.
const SchemaFile = "conformance-report.schema.json"

// schemaID is the $id of the schema.
const schemaID = "https://ambient-e2e.io/schemas/conformance-report/v1alpha1.json"

//go:embed conformance-report.schema.json
var committedSchema []byte

// Schema returns the committed JSON Schema (draft 2020-12) of the report.
func Schema() []byte { return bytes.Clone(committedSchema) }

// GenerateSchema generates the JSON Schema from the Go types with
// github.com/invopop/jsonschema, taking field descriptions from the doc
// comments of the package sources in sourceDir (this package's directory).
// The committed schema must equal its output (a unit test checks it).
func GenerateSchema(sourceDir string) ([]byte, error) {
	r := &invopop.Reflector{}
	if err := r.AddGoComments("github.com/ambient-e2e/ambient-e2e/reports/conformance", sourceDir); err != nil {
		return nil, fmt.Errorf("reading the doc comments of %s: %w", sourceDir, err)
	}
	// Types the report shares with the run's records (Node) are defined
	// once, in harness/runinfo: their descriptions come from there.
	runinfoDir := filepath.Join(sourceDir, "..", "..", "harness", "runinfo")
	if err := r.AddGoComments("github.com/ambient-e2e/ambient-e2e/harness/runinfo", runinfoDir); err != nil {
		return nil, fmt.Errorf("reading the doc comments of %s: %w", runinfoDir, err)
	}
	s := r.Reflect(&Report{})
	s.ID = schemaID
	s.Title = "ambient-e2e conformance report " + APIVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(committedSchema))
	if err != nil {
		return nil, fmt.Errorf("the committed schema %s is not JSON: %w", SchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaID)
})

// validateSchema checks a parsed JSON document against the committed schema
// with github.com/santhosh-tekuri/jsonschema/v6; the error lists every
// violation with its location.
func validateSchema(v any) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var problems []string
	missing := false
	p := message.NewPrinter(language.English)
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		msg := e.ErrorKind.LocalizedString(p)
		if _, ok := e.ErrorKind.(*kind.Required); ok {
			missing = true
		}
		problems = append(problems, fmt.Sprintf("at /%s: %s", strings.Join(e.InstanceLocation, "/"), msg))
	}
	walk(ve)
	sort.Strings(problems)
	hint := ""
	if missing {
		hint = " (a required field is missing: is the file truncated?)"
	}
	return fmt.Errorf("does not match the schema %s%s:\n  %s", SchemaFile, hint, strings.Join(dedupe(problems), "\n  "))
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
