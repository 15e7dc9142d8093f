package configs_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/configs"
)

func TestEmbeddedExampleIsValid(t *testing.T) {
	onDisk, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, configs.Example) {
		t.Fatal("embedded example differs from example.yaml")
	}
	// No environment at all: the quick start must work on a fresh machine.
	if _, err := config.Parse([]config.Source{{Name: "example.yaml", Data: configs.Example}}, nil); err != nil {
		t.Fatalf("example config: %v", err)
	}
	if _, err := config.Load("example.yaml"); err != nil {
		t.Fatalf("config.Load: %v", err)
	}
}
