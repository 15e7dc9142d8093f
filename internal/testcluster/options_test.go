package testcluster

import (
	"errors"
	"io"
	"testing"
)

// TestProgramRunsAClusterOutsideATest: the bench's way in. A Program stands
// in for the test, Fatal becomes an error through Try, a node added later
// joins, and Close stops every process.
func TestProgramRunsAClusterOutsideATest(t *testing.T) {
	Binary(t) // built once; UseBinary keeps that choice
	if UseBinary("/nonexistent/pagerd") {
		t.Fatal("UseBinary replaced a binary already chosen")
	}
	prog := NewProgram("prog", t.TempDir(), io.Discard)
	defer prog.Close()
	var fe *FatalError
	if err := Try(func() { prog.Fatalf("stop %d", 1) }); !errors.As(err, &fe) || err.Error() != "stop 1" || !prog.Failed() {
		t.Fatalf("Try: %v, failed %v", err, prog.Failed())
	}
	var c *Cluster
	if err := Try(func() { c = Start(prog, 1, Options{}) }); err != nil {
		t.Fatal(err)
	}
	var added *Node
	if err := Try(func() { added = c.AddNode(); c.WaitReady(added) }); err != nil {
		t.Fatal(err)
	}
	if rss, _, err := added.Memory(); err != nil || rss <= 0 || added.PID() == 0 {
		t.Errorf("memory of %s: %d %v", added.ID, rss, err)
	}
	var st Status
	if err := Try(func() { c.GetJSON(c.Nodes[0], "/v1/cluster", &st) }); err != nil || len(st.Nodes) != 2 {
		t.Errorf("members after AddNode: %+v %v", st.Nodes, err)
	}
	prog.Close()
	for _, n := range c.Nodes {
		if n.Running() {
			t.Errorf("%s still running after Close", n.ID)
		}
	}
}
