package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Process is a peer daemon (Alertmanager, aiosmtpd) run for a measurement.
type Process struct {
	Addr    string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Close kills the process and waits for it.
func (p *Process) Close() {
	if p == nil || p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
}

func startProcess(logPath string, name string, args ...string) (*Process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.exited) }()
	return p, nil
}

func (p *Process) dead() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// AlertmanagerBin is the Debian package's binary (scripts/test installs it).
const AlertmanagerBin = "/usr/bin/prometheus-alertmanager"

// StartAlertmanager runs a real Alertmanager whose only receiver has no
// integrations: alerts are accepted, stored, grouped and routed, but nothing is
// sent, so its ingest path is measured the way pagerd's is (pagerd's bench
// service has no escalation policy either).
func StartAlertmanager(ctx context.Context, dir string) (*Process, error) {
	cfg := "route:\n  receiver: blackhole\n  group_by: [group]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\nreceivers:\n  - name: blackhole\n"
	return StartAlertmanagerConfig(ctx, dir, cfg)
}

// StartAlertmanagerConfig runs a real Alertmanager with the given YAML config.
func StartAlertmanagerConfig(ctx context.Context, dir, cfg string) (*Process, error) {
	if st, err := os.Stat(AlertmanagerBin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%s is missing: apt-get install prometheus-alertmanager (scripts/test does)", AlertmanagerBin)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(filepath.Join(dir, "alertmanager.log"), AlertmanagerBin, "--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--cluster.listen-address=",
		"--log.level=warn")
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	err = WaitFor(ctx, 30*time.Second, func() (bool, string) {
		if p.dead() {
			b, _ := os.ReadFile(p.LogPath)
			return false, "alertmanager exited: " + string(b)
		}
		code, _, err := Get(ctx, "http://"+addr+"/-/ready", "")
		return code == http.StatusOK, fmt.Sprintf("alertmanager /-/ready: %d %v", code, err)
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// AlertmanagerVersion asks the binary for its version line.
func AlertmanagerVersion() string {
	out, err := exec.Command(AlertmanagerBin, "--version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// SystemPython is Debian's interpreter, which has python3-aiosmtpd.
const SystemPython = "/usr/bin/python3"

// SMTPServer is a real SMTP server (Python's aiosmtpd) storing every message
// in a Maildir; the file's modification time is when it was handed over.
type SMTPServer struct {
	*Process
	Maildir string
}

// StartSMTP runs aiosmtpd with the Mailbox handler on a free loopback port.
func StartSMTP(ctx context.Context, dir string) (*SMTPServer, error) {
	if out, err := exec.Command(SystemPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s with aiosmtpd is missing (apt-get install python3-aiosmtpd): %v: %s", SystemPython, err, out)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	md := filepath.Join(dir, "maildir")
	p, err := startProcess(filepath.Join(dir, "smtp.log"), SystemPython, "-m", "aiosmtpd", "-n", "-l", addr,
		"-c", "aiosmtpd.handlers.Mailbox", md)
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	err = WaitFor(ctx, 15*time.Second, func() (bool, string) {
		if p.dead() {
			b, _ := os.ReadFile(p.LogPath)
			return false, "aiosmtpd exited: " + string(b)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	return &SMTPServer{Process: p, Maildir: md}, nil
}

// Mail is one stored message.
type Mail struct {
	File      string
	Received  time.Time // the Maildir file's modification time
	MessageID string
	Incident  string // X-Pagerd-Incident
	To        string
	Subject   string
}

// MailWatcher reads new messages from a Maildir as they arrive.
type MailWatcher struct {
	dir  string
	mu   sync.Mutex
	seen map[string]bool
	all  []Mail
}

// Watch returns a watcher over the server's Maildir.
func (s *SMTPServer) Watch() *MailWatcher {
	return &MailWatcher{dir: filepath.Join(s.Maildir, "new"), seen: map[string]bool{}}
}

// Poll reads the messages that arrived since the last call and returns all so far.
func (w *MailWatcher) Poll() []Mail {
	w.mu.Lock()
	defer w.mu.Unlock()
	entries, _ := os.ReadDir(w.dir)
	for _, e := range entries {
		if w.seen[e.Name()] {
			continue
		}
		path := filepath.Join(w.dir, e.Name())
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			continue
		}
		w.seen[e.Name()] = true
		w.all = append(w.all, Mail{File: path, Received: st.ModTime(), MessageID: m.Header.Get("Message-ID"),
			Incident: m.Header.Get("X-Pagerd-Incident"), To: m.Header.Get("To"), Subject: m.Header.Get("Subject")})
	}
	return append([]Mail(nil), w.all...)
}

// Await polls until a message satisfies match, or the timeout passes.
func (w *MailWatcher) Await(ctx context.Context, timeout time.Duration, match func(Mail) bool) (Mail, error) {
	var found Mail
	err := WaitFor(ctx, timeout, func() (bool, string) {
		for _, m := range w.Poll() {
			if match(m) {
				found = m
				return true, ""
			}
		}
		return false, "no matching message in " + w.dir
	})
	return found, err
}

// CPUSeconds is the CPU time the process has used.
func (p *Process) CPUSeconds() float64 {
	if p == nil || p.cmd == nil || p.dead() {
		return 0
	}
	return procCPU(strconv.Itoa(p.cmd.Process.Pid))
}
