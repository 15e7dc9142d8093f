package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/reply/mailserver"
	"github.com/pagerd/pagerd/reply/nodebackend"
	"github.com/pagerd/pagerd/reply/smshook"
)

// replyWiring holds the reply transports of one node.
type replyWiring struct {
	node    *cluster.Node
	cfg     func() *config.Config
	log     *slog.Logger
	backend reply.Backend // the node's replicated state, for the transports
	sms     http.Handler
	mail    *mailserver.Server
	mailLn  net.Listener
	devSeqs atomic.Uint64
	// devPublicURL signs dev-outbox SMS replies when the config has no
	// public_url: this node's own address.
	devPublicURL string
	// devBox keeps reply confirmations in --dev instead of mailing them.
	devBox *outbox.Outbox
}

// startReplies mounts the Twilio webhook and starts the inbound SMTP server
// when smtpAddr is set (in --dev mode always, on a loopback port, so the
// outbox's reply boxes go through it).
func startReplies(node *cluster.Node, cfg func() *config.Config, seed *config.Config, smtpAddr string, dev bool, httpAddr string,
	tlsConfig *tls.Config, smtpMaxConns int, reg prometheus.Registerer, log *slog.Logger) (*replyWiring, error) {
	rw := &replyWiring{node: node, cfg: cfg, log: log, backend: nodebackend.New(node)}
	if dev {
		rw.devPublicURL = "http://" + httpAddr
	}
	rw.sms = smshook.New(smshook.Options{
		AuthToken: func() string {
			if c := cfg(); c != nil {
				return c.Channels.SMS.AuthToken
			}
			return ""
		},
		PublicURL: rw.publicURL,
		CaughtUp:  node.CaughtUp,
		Backend:   rw.backend, Logger: log, Metrics: reg,
	})
	// The committed config if this node has one yet, else its own file.
	c := cfg()
	if c == nil {
		c = seed
	}
	domain := c.Channels.Email.ReplyDomain
	switch {
	case smtpAddr == "" && dev && domain != "":
		smtpAddr = "127.0.0.1:0" // the dev outbox's email reply boxes use it
	case smtpAddr == "":
		return rw, nil
	case domain == "":
		return nil, fmt.Errorf("--smtp-addr needs channels.email.reply_domain in the config: replies are addressed to <token>@reply_domain")
	}
	opts := mailserver.Options{Domain: domain, Backend: rw.backend, Confirm: rw.confirm,
		TLS: tlsConfig, MaxConns: smtpMaxConns, Logger: log, Metrics: reg}
	opts.Followups, _ = rw.backend.(reply.FollowupBackend) // nodebackend: reminder replies
	opts.IncidentURL = func(key string) string { return cfg().IncidentURL(key) }
	srv, err := mailserver.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --smtp-addr %s: %w", smtpAddr, err)
	}
	rw.mail, rw.mailLn = srv, ln
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Info("inbound SMTP stopped", "err", err)
		}
	}()
	log.Info("inbound SMTP for email replies", "addr", ln.Addr().String(), "domain", domain)
	return rw, nil
}

func (rw *replyWiring) publicURL() string {
	if c := rw.cfg(); c != nil && c.Channels.SMS.PublicURL != "" {
		return c.Channels.SMS.PublicURL
	}
	return rw.devPublicURL
}

// confirm answers a reply by email through the configured relay.
func (rw *replyWiring) confirm(ctx context.Context, to, subject, body, inReplyTo string) error {
	if rw.devBox != nil {
		rw.devBox.Keep(to, subject, body, inReplyTo)
		return nil
	}
	c := rw.cfg()
	if c == nil || c.Channels.Email.SMTP == "" {
		return fmt.Errorf("no email channel configured")
	}
	s, err := email.New(c.Channels.Email, email.Options{})
	if err != nil {
		return err
	}
	return s.SendReply(ctx, to, subject, body, inReplyTo)
}

func (rw *replyWiring) close() {
	if rw.mail != nil {
		rw.mail.Close()
	}
}

// devReply is the dev outbox's reply box: an SMS reply goes through the
// Twilio webhook handler as a signed request from the paged phone; an email
// reply is mailed to this node's inbound SMTP server at the page's Reply-To.
func (rw *replyWiring) devReply(ctx context.Context, m outbox.Message, text string) (string, error) {
	switch m.Channel {
	case outbox.ChannelSMS:
		return rw.devSMS(ctx, m, text)
	case outbox.ChannelEmail:
		return rw.devEmail(ctx, m, text)
	}
	return "", fmt.Errorf("cannot reply to a %s message", m.Channel)
}

func (rw *replyWiring) devSMS(ctx context.Context, m outbox.Message, text string) (string, error) {
	c := rw.cfg()
	if c == nil {
		return "", fmt.Errorf("no config")
	}
	form := url.Values{"From": {m.To}, "To": {c.Channels.SMS.From}, "Body": {text},
		"MessageSid": {"SMdev" + strconv.FormatUint(rw.devSeqs.Add(1), 10) + "x" + m.ID}}
	full := strings.TrimRight(rw.publicURL(), "/") + smshook.Path
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, smshook.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", reply.TwilioSignature(c.Channels.SMS.AuthToken, full, form))
	rec := httptest.NewRecorder()
	rw.node.LeaderOnly(rw.sms).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("SMS webhook answered %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	var twiml struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &twiml); err != nil {
		return "", fmt.Errorf("TwiML answer: %w", err)
	}
	return twiml.Message, nil
}

func (rw *replyWiring) devEmail(ctx context.Context, m outbox.Message, text string) (string, error) {
	if rw.mailLn == nil || m.ReplyTo == "" {
		return "", fmt.Errorf("email replies need channels.email.reply_domain")
	}
	msg := "From: <" + m.To + ">\r\nTo: <" + m.ReplyTo + ">\r\nSubject: Re: " + m.Subject +
		"\r\nMessage-ID: <dev-" + strconv.FormatUint(rw.devSeqs.Add(1), 10) + "-" + m.ID + "@dev.invalid>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n\r\n> " +
		strings.ReplaceAll(strings.TrimSpace(m.Body), "\n", "\n> ") + "\r\n"
	if err := sendPlain(rw.mailLn.Addr().String(), m.To, m.ReplyTo, msg); err != nil {
		return "", fmt.Errorf("inbound SMTP refused the reply: %w", err)
	}
	token, _, _ := strings.Cut(m.ReplyTo, "@")
	page, err := rw.backend.PageForToken(token, rw.node.Clock())
	if err != nil {
		return "Reply accepted (250).", nil
	}
	var inc *incident.Incident
	rw.node.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(page.Incident) })
	if inc == nil {
		return "Reply accepted (250).", nil
	}
	who := ""
	switch inc.Status {
	case incident.Acknowledged:
		who = " by " + inc.AcknowledgedBy
	case incident.Resolved:
		who = " by " + inc.ResolvedBy
	}
	return fmt.Sprintf("Reply accepted (250). %s is now %s%s.", inc.Key, inc.Status, who), nil
}

// sendPlain delivers one message over plain SMTP on loopback (the dev
// server has no certificate, and smtp.SendMail insists on STARTTLS).
func sendPlain(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smsHandler serves POST /v1/sms/twilio. The signature is checked on the
// node that received the request, before any forwarding, so a forged
// request gets 403 even while the cluster has no leader; a genuine one is
// then handled on the leader (which checks it again).
func (rw *replyWiring) smsHandler() http.Handler {
	lead := rw.node.LeaderOnly(rw.sms)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A node catching up holds an older config: its auth_token may be
		// one the cluster rotated away. Check no signature against it.
		if r.Method == http.MethodPost && !rw.node.CaughtUp() {
			cluster.WriteUnavailable(w, "this node is catching up with the cluster; retry", time.Second)
			return
		}
		if r.Method != http.MethodPost || rw.node.IsLeader() {
			lead.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, smshook.MaxBodyBytes))
		if err != nil {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body: too large or unreadable")
			return
		}
		form, err := url.ParseQuery(string(body))
		c := rw.cfg()
		full := strings.TrimRight(rw.publicURL(), "/") + smshook.Path
		if r.URL.RawQuery != "" {
			full += "?" + r.URL.RawQuery
		}
		if err != nil || c == nil || c.Channels.SMS.AuthToken == "" ||
			!reply.VerifyTwilioSignature(c.Channels.SMS.AuthToken, full, form, r.Header.Get("X-Twilio-Signature")) {
			writeJSONError(w, http.StatusForbidden, "X-Twilio-Signature does not verify")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		lead.ServeHTTP(w, r)
	})
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// loadTLS reads the inbound SMTP server's certificate for STARTTLS.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("--smtp-tls-cert and --smtp-tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load SMTP certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
