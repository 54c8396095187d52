package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

// TestREADMECredentialsTable: the README's demo credentials are the
// dataset's (credentials.json is the one source; the README shows it), row
// for row in the order of localdata's table, with the CSTG values.
func TestREADMECredentialsTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c, err := localdata.ReadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Demo credentials (local mode)")
	if !ok {
		t.Fatal("README has no demo credentials section")
	}
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "`UID2-C-") {
			rows = append(rows, line)
		}
	}
	clients := c.Clients()
	if len(rows) != len(clients) {
		t.Fatalf("README lists %d clients; the dataset has %d", len(rows), len(clients))
	}
	for i, cl := range clients {
		cells := strings.Split(strings.Trim(rows[i], "| "), " | ")
		if len(cells) != 4 {
			t.Fatalf("README row %q: want 4 cells", rows[i])
		}
		name, _, _ := strings.Cut(cells[0], " ")
		got := fmt.Sprintf("%s %s %s %s", name, cells[1], cells[2], cells[3])
		want := fmt.Sprintf("%s %d `%s` `%s`", cl.Name, cl.SiteID, cl.APIKey, cl.Secret)
		if got != want {
			t.Errorf("README row %d = %s; want %s", i, got, want)
		}
	}
	for _, v := range []string{c.CSTG.SubscriptionID, c.CSTG.Origin, c.CSTG.ServerPublicKey} {
		if !strings.Contains(section, "`"+v+"`") {
			t.Errorf("README lacks the CSTG value %s", v)
		}
	}
}
