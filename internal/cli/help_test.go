package cli

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// valuePlaceholders are the words a flag's usage may put in backticks.
// pflag's UnquoteUsage prints the first backticked text after the flag name
// as its value placeholder ("--http-addr address"), so backticks are for
// naming the value, never for quoting a command or a literal: issue 9 found
// "--subscription-id az account show" and "--default-subnet-cidr default".
// Add a word here only if it names the kind of value the flag takes.
var valuePlaceholders = []string{"address", "dir", "directory", "file", "id", "key", "platform", "secret", "size", "URL"}

var rePlaceholder = regexp.MustCompile("`([^`]*)`")

// Issue 9 item 5: flag help showed backtick artefacts.
func TestFlagUsageHasNoBacktickArtefacts(t *testing.T) {
	root := newRootCommand(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
	checked := 0
	seen := map[*pflag.Flag]bool{} // an inherited flag is reported once
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			checked++
			if seen[f] {
				return
			}
			seen[f] = true
			where := c.CommandPath() + " --" + f.Name
			quoted := rePlaceholder.FindAllStringSubmatch(f.Usage, -1)
			if len(quoted) > 1 {
				t.Errorf("%s: usage %q has %d backticked parts; pflag unquotes only the first, the rest print with their backticks", where, f.Usage, len(quoted))
			}
			if len(quoted) == 1 && !slices.Contains(valuePlaceholders, quoted[0][1]) {
				t.Errorf("%s: usage %q backticks %q, which pflag prints as the value placeholder (%q); quote it with '…' or add a value word to valuePlaceholders", where, f.Usage, quoted[0][1], "--"+f.Name+" "+quoted[0][1])
			}
			name, usage := pflag.UnquoteUsage(f)
			if strings.Contains(usage, "`") || strings.Contains(name, " ") {
				t.Errorf("%s: help line shows %q %q", where, name, usage)
			}
			if strings.ReplaceAll(f.Usage, "`", "") != usage {
				t.Errorf("%s: help text %q lost text of %q", where, usage, f.Usage)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.InheritedFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if checked < 50 {
		t.Fatalf("checked %d flags; the walk missed subcommands", checked)
	}
}
