package waerr

import (
	"os"
	"os/exec"
	"testing"
)

// TestGeneratedIsCurrent fails when catalogue.yaml was edited without `go generate`: it checks both
// catalogue_gen.go and docs/errors.md, and the generator's validation of the data file.
func TestGeneratedIsCurrent(t *testing.T) {
	cmd := exec.Command("go", "run", "./gen", "-check", "-in", "catalogue.yaml", "-out", "catalogue_gen.go",
		"-docs", "../../docs/errors.md")
	cmd.Stderr, cmd.Stdout = os.Stderr, os.Stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("catalogue_gen.go or docs/errors.md is stale, or catalogue.yaml is invalid: %v", err)
	}
}
