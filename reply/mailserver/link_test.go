package mailserver

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

// TestConfirmationCarriesConsoleLink: with IncidentURL set (public_url in
// the config), the answer to an email reply links to the incident.
func TestConfirmationCarriesConsoleLink(t *testing.T) {
	f := newFixture(t, Options{IncidentURL: func(key string) string { return "https://pager.example.com/ui/incidents/" + key }})
	f.mustSend(t, message("m1@mail.example.com", aliceMail, nil, "ack\n"))
	if inc := f.incident(t); inc.Status != incident.Acknowledged {
		t.Fatalf("INC-42 %s", inc.Status)
	}
	c := f.nextConfirmation(t)
	if !strings.Contains(c.body, "\nOpen INC-42 in pagerd: https://pager.example.com/ui/incidents/INC-42\n") {
		t.Fatalf("confirmation lacks the console link:\n%s", c.body)
	}
}
