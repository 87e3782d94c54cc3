package conformance

import (
	"bytes"
	"os"
	"testing"
)

// TestCommittedSchemaIsGenerated fails when the Go types changed and the
// committed schema was not regenerated (UPDATE_SCHEMA=1 go test -run
// TestCommittedSchemaIsGenerated ./reports/conformance writes it).
func TestCommittedSchemaIsGenerated(t *testing.T) {
	got, err := GenerateSchema(".")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SCHEMA") == "1" {
		if err := os.WriteFile(SchemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, Schema()) {
		t.Fatalf("%s differs from the schema generated from the Go types: run UPDATE_SCHEMA=1 go test -run TestCommittedSchemaIsGenerated ./reports/conformance and commit it", SchemaFile)
	}
}
