package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pagerd/pagerd/cluster"
)

func runCluster(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: status | remove NODE")
	}
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	c := clientFlags(fs)
	wait := fs.Duration("wait", 30*time.Second, "status: how long to wait for a starting node to know a leader (0: do not wait)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	switch args[0] {
	case "status":
		if len(pos) != 0 {
			return usagef("status takes no arguments")
		}
		st, raw, err := clusterStatusWhenReady(c, *wait, stderr)
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() {
			fmt.Fprintf(stdout, "leader: %s  term: %d  applied index: %d\n", st.Leader, st.Term, st.AppliedIndex)
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tSUFFRAGE\tRAFT\tHTTP\tVERSION\tCOMMANDS")
			for _, n := range st.Nodes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.State, n.Suffrage, n.RaftAddr, n.HTTPAddr,
					orText(n.Version, "-"), memberCommands(n.Commands))
			}
			tw.Flush()
			fmt.Fprintf(stdout, "leader writes: %s\n", commandVersionsLine(st.CommandVersions))
		})
		return nil
	case "remove":
		if len(pos) != 1 {
			return usagef("remove wants exactly one NODE id")
		}
		raw, err := c.do(http.MethodDelete, "/v1/cluster/nodes/"+url.PathEscape(pos[0]), nil, nil, "")
		if err != nil {
			return err
		}
		c.emit(stdout, raw, func() { fmt.Fprintf(stdout, "removed %s\n", pos[0]) })
		return nil
	}
	return usagef("unknown subcommand %q (want status or remove)", args[0])
}

func runSnapshot(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: save FILE | restore FILE")
	}
	fs := flag.NewFlagSet("snapshot "+args[0], flag.ContinueOnError)
	c := clientFlags(fs)
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("%s wants exactly one FILE", args[0])
	}
	switch args[0] {
	case "save":
		data, err := c.do(http.MethodGet, "/v1/snapshot", nil, nil, "")
		if err != nil {
			return err
		}
		if err := cluster.ValidateSnapshot(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("the snapshot received is incomplete or invalid, not written: %w", err)
		}
		if err := writeFileAtomic(pos[0], data); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "saved %d bytes to %s\n", len(data), pos[0])
		return nil
	case "restore":
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return usagef("%v", err)
		}
		if err := cluster.ValidateSnapshot(bytes.NewReader(data)); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("%s is not a pagerd snapshot: %v", pos[0], err)}
		}
		if _, err := c.do(http.MethodPut, "/v1/snapshot", nil, bytes.NewReader(data), "application/octet-stream"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored %s (%d bytes)\n", pos[0], len(data))
		return nil
	}
	return usagef("unknown subcommand %q (want save or restore)", args[0])
}

// writeFileAtomic writes via a temporary file so a crash never leaves half a backup.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
