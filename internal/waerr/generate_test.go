package waerr

import (
	"os"
	"os/exec"
	"testing"
)

// TestGeneratedIsCurrent fails when catalogue.yaml was edited without `go generate`.
func TestGeneratedIsCurrent(t *testing.T) {
	cmd := exec.Command("go", "run", "./gen", "-check", "-in", "catalogue.yaml", "-out", "catalogue_gen.go")
	cmd.Stderr, cmd.Stdout = os.Stderr, os.Stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("catalogue_gen.go is stale or catalogue.yaml is invalid: %v", err)
	}
}
