package release_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uid2-private-operator/uid2-operator/internal/release"
)

// TestREADMEDocumentsUID2Release: the README's uid2-release section names
// every command of uid2-release's usage, every flag each command's flag set
// prints for -h, and every variable of the usage's ENVIRONMENT list (the
// developers' guide: the README documents every flag, env var and command);
// the flag table's literal defaults are the ones -h prints.
func TestREADMEDocumentsUID2Release(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### `uid2-release`")
	if !ok {
		t.Fatal("README has no ### `uid2-release` section")
	}
	if i := regexp.MustCompile(`\n##+ `).FindStringIndex(section); i != nil {
		section = section[:i[0]]
	}

	var usage bytes.Buffer
	if code := release.Main(context.Background(), []string{"help"}, nil, &usage, &usage); code != release.ExitOK {
		t.Fatalf("uid2-release help: exit %d", code)
	}
	commands := usageList(usage.String(), "COMMANDS")
	envs := usageList(usage.String(), "ENVIRONMENT")
	if len(commands) < 3 || len(envs) < 3 {
		t.Fatalf("usage lists commands %q and variables %q; its layout changed", commands, envs)
	}
	for _, v := range envs {
		if !regexp.MustCompile(`\b` + v + `\b`).MatchString(section) {
			t.Errorf("README's uid2-release section lacks the variable %s", v)
		}
	}
	reFlag := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	reDefault := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)[^\n]*\n[^\n]*\(default ([^)]*)\)$`)
	defaults := map[string]string{} // flag as the README writes it → default from -h
	flags := 0
	for _, cmd := range commands {
		if !strings.Contains(section, "`uid2-release "+cmd) {
			t.Errorf("README's uid2-release section does not document the command %q", cmd)
		}
		var out, help bytes.Buffer
		if code := release.Main(context.Background(), []string{cmd, "-h"}, nil, &out, &help); code != release.ExitOK {
			t.Fatalf("uid2-release %s -h: exit %d: %s", cmd, code, help.String())
		}
		for _, m := range reDefault.FindAllStringSubmatch(help.String(), -1) {
			flag := "--" + m[1]
			if len(m[1]) == 1 {
				flag = "-" + m[1]
			}
			if v, err := strconv.Unquote(m[2]); err == nil {
				m[2] = v
			}
			defaults[flag] = m[2]
		}
		for _, m := range reFlag.FindAllStringSubmatch(help.String(), -1) {
			flags++
			flag := "--" + m[1]
			if len(m[1]) == 1 {
				flag = "-" + m[1] // single letters are documented as -o
			}
			if !regexp.MustCompile(regexp.QuoteMeta(flag) + `([^a-z0-9-]|$)`).MatchString(section) {
				t.Errorf("uid2-release %s %s: not documented in the README's uid2-release section", cmd, flag)
			}
		}
	}
	if flags < 8 {
		t.Fatalf("found %d flags in the commands' help; its layout changed", flags)
	}

	// The flag table's literal defaults are the code's.
	reRow := regexp.MustCompile("(?m)^\\| `(-[-a-z0-9]+)[^`]*`[^|]* \\| `([^`]*)` \\|")
	compared := 0
	for _, m := range reRow.FindAllStringSubmatch(section, -1) {
		want, ok := defaults[m[1]]
		if !ok {
			continue
		}
		compared++
		same := m[2] == want
		if d, err := time.ParseDuration(m[2]); err == nil {
			w, _ := time.ParseDuration(want)
			same = d == w
		}
		if !same {
			t.Errorf("README: uid2-release %s defaults to %q; the code's default is %q", m[1], m[2], want)
		}
	}
	if compared < 3 {
		t.Fatalf("compared %d flag defaults (from %v); the README's flag table was not found", compared, defaults)
	}
}

// usageList returns the first word of each indented line of the usage's
// section titled title (an all-caps line), up to the next title.
func usageList(usage, title string) []string {
	var words []string
	in := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case line == title:
			in = true
		case line != "" && line[0] != ' ':
			in = false
		case in && strings.HasPrefix(line, "  ") && len(line) > 2 && line[2] != ' ':
			words = append(words, strings.Fields(line)[0])
		}
	}
	return words
}
