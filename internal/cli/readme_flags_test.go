package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/uid2-private-operator/uid2-operator/internal/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
)

// The developers' guide: the README documents every flag, environment
// variable and subcommand. These tests hold it to that, from the code: the
// cobra tree, the config keys and the variables the non-test code reads.

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeSection returns the text under the first heading that contains
// title, up to the next heading of the same or a higher level.
func readmeSection(readme, title string) (string, bool) {
	lines := strings.Split(readme, "\n")
	inCode := false
	start, level := -1, 0
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		l := len(line) - len(strings.TrimLeft(line, "#"))
		if start >= 0 && l <= level {
			return strings.Join(lines[start:i], "\n"), true
		}
		if start < 0 && strings.Contains(line, title) {
			start, level = i, l
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Join(lines[start:], "\n"), true
}

// mentionsFlag reports whether text names --name as a whole flag
// (--operator-key does not count for --operator).
func mentionsFlag(text, name string) bool {
	return regexp.MustCompile(`--` + regexp.QuoteMeta(name) + `([^a-z0-9-]|$)`).MatchString(text)
}

// cobraBuiltins are the commands cobra adds itself; the README names
// them once, without their flags.
var cobraBuiltins = []string{"help", "completion"}

// readmeCommands walks the uid2-operator command tree.
func readmeCommands(t *testing.T) []*cobra.Command {
	t.Helper()
	root := newRootCommand(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		for _, sub := range c.Commands() {
			if sub.Hidden || slices.Contains(cobraBuiltins, sub.Name()) {
				continue
			}
			walk(sub)
		}
	}
	walk(root)
	if len(all) < 12 {
		t.Fatalf("walked %d commands; the walk missed subcommands", len(all))
	}
	return all
}

// commandSection is the README section of a subcommand: the one whose
// heading names it in backticks ("### `core` flags"). The bare command's is
// Commands, which holds serve's, whose flags it shares.
func commandSection(readme string, c *cobra.Command) (string, bool) {
	path := strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), "uid2-operator"))
	if path == "" {
		return readmeSection(readme, "## Commands")
	}
	return readmeSection(readme, "`"+path+"`")
}

// mentionsCommand reports whether the README names the subcommand at path
// ("aks preflight") in code: "`aks preflight" or "uid2-operator aks preflight".
func mentionsCommand(readme, path string) bool {
	return strings.Contains(readme, "`"+path) || strings.Contains(readme, "uid2-operator "+path)
}

// TestREADMEDocumentsEverySubcommandAndFlag: every subcommand of
// uid2-operator is named in the README, and every flag it defines is
// documented in its section (a heading naming the command), else somewhere
// in the README. The aks variables' flags are documented by the Variables
// table: a variable there is its flag (the README states the rule).
func TestREADMEDocumentsEverySubcommandAndFlag(t *testing.T) {
	readme := readREADME(t)
	variables, ok := readmeSection(readme, "Variables")
	if !ok {
		t.Fatal("README has no Variables section (the aks variables and their flags)")
	}
	aksEnv := map[string]string{}
	for _, f := range aks.Fields() {
		aksEnv[f.Flag] = f.Env
	}
	for _, name := range cobraBuiltins {
		if !mentionsCommand(readme, name) {
			t.Errorf("README does not name cobra's %q subcommand", name)
		}
	}
	flags := 0
	for _, c := range readmeCommands(t) {
		path := strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), "uid2-operator"))
		if path != "" && !mentionsCommand(readme, path) {
			t.Errorf("README does not document the subcommand %q", c.CommandPath())
		}
		section, hasSection := commandSection(readme, c)
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			flags++
			where := c.CommandPath() + " --" + f.Name
			if env, ok := aksEnv[f.Name]; ok && c.Name() == "aks" {
				if !regexp.MustCompile(`\b` + env + `\b`).MatchString(variables) {
					t.Errorf("%s: README's Variables section lacks %s", where, env)
				}
				return
			}
			switch {
			case hasSection && mentionsFlag(section, f.Name):
			case hasSection && mentionsFlag(readme, f.Name):
				t.Errorf("%s: documented in the README, but not in the section of %q", where, c.CommandPath())
			case !mentionsFlag(readme, f.Name):
				t.Errorf("%s: not documented in the README (%s)", where, f.Usage)
			}
		})
	}
	if flags < 80 {
		t.Fatalf("checked %d flags; the walk missed some", flags)
	}
}

var reFlagRow = regexp.MustCompile("^\\| `--([a-z0-9-]+)[^`]*` \\| ([^|]*) \\|")

// TestREADMEFlagDefaults: where a section's table gives a flag's default as
// one literal ("`10s`", "`:8080`", "`true`"), it is the flag's real default.
// Descriptions ("the cgroup's", "1 per CPU") and variables
// ("`$VERTX_CONFIG_PATH`") are not compared.
func TestREADMEFlagDefaults(t *testing.T) {
	readme := readREADME(t)
	compared := 0
	for _, c := range readmeCommands(t) {
		if !c.HasParent() {
			continue // its flags are serve's, compared in serve's table
		}
		section, ok := commandSection(readme, c)
		if !ok {
			continue
		}
		for _, line := range strings.Split(section, "\n") {
			m := reFlagRow.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			f := c.Flags().Lookup(m[1])
			if f == nil {
				t.Errorf("%s: README row %q documents a flag the command does not have", c.CommandPath(), line)
				continue
			}
			cell := strings.TrimSpace(m[2])
			if len(cell) < 2 || cell[0] != '`' || strings.Count(cell, "`") != 2 || cell[len(cell)-1] != '`' {
				continue
			}
			doc := strings.Trim(cell, "`")
			if strings.HasPrefix(doc, "$") {
				continue // the default is an environment variable's value
			}
			code := strings.Trim(f.DefValue, "[]")
			same := doc == code
			if d, err := time.ParseDuration(doc); err == nil && f.Value.Type() == "duration" {
				c, _ := time.ParseDuration(code)
				same = d == c
			}
			if n, err := strconv.Atoi(strings.ReplaceAll(doc, ",", "")); err == nil && f.Value.Type() == "int" {
				same = strconv.Itoa(n) == code
			}
			compared++
			if !same {
				t.Errorf("%s --%s: README says the default is %s; the code's is %q", c.CommandPath(), f.Name, cell, f.DefValue)
			}
		}
	}
	if compared < 30 {
		t.Fatalf("compared %d defaults; the README's flag tables were not found", compared)
	}
}

var reVariableRow = regexp.MustCompile("^\\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \\| ([^|]*) \\|")

// TestREADMEAKSVariableDefaults: the Variables table's literal defaults
// ("`10.0.0.0/8`"; "`2`, `2`, `5`" for a row of three) are aks.Default()'s.
func TestREADMEAKSVariableDefaults(t *testing.T) {
	variables, ok := readmeSection(readREADME(t), "Variables")
	if !ok {
		t.Fatal("README has no Variables section")
	}
	def := aks.Default()
	code := map[string]string{}
	for _, f := range aks.Fields() {
		code[f.Env] = f.Get(&def)
	}
	compared := 0
	for _, line := range strings.Split(variables, "\n") {
		m := reVariableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		names := strings.Split(m[1], ", ")
		docs := strings.Split(strings.TrimSpace(m[2]), ", ")
		if len(docs) != len(names) {
			continue
		}
		for i, name := range names {
			name, doc := strings.Trim(name, "`"), docs[i]
			want, known := code[name]
			if !known {
				t.Errorf("README's Variables table documents %s, which is not an aks variable", name)
				continue
			}
			if len(doc) < 2 || doc[0] != '`' || doc[len(doc)-1] != '`' || strings.Count(doc, "`") != 2 {
				continue // a description: (required), derived, …
			}
			compared++
			if strings.Trim(doc, "`") != want {
				t.Errorf("README: %s defaults to %s; the code's default is %q", name, doc, want)
			}
		}
	}
	if compared < 12 {
		t.Fatalf("compared %d defaults; the Variables table was not found", compared)
	}
}

// envReaders are the functions whose string argument names an environment
// variable: os.Getenv/LookupEnv and the injected getenv/lookup/get of the
// code that takes its environment as a function.
var envReaders = []string{"Getenv", "LookupEnv", "getenv", "lookup", "get"}

var reEnvName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*[A-Z0-9]$`)

// codeEnvVars returns the environment variables the module's non-test code
// names: in Go, string literals passed to an envReaders function and string
// constants named Env… or env… (how the code names the variables it reads
// through a lookup function); in the shell scripts, .ci/run and the aks plan
// template, variables read with a default.
func codeEnvVars(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".sh") || strings.HasSuffix(path, ".tmpl")) {
			return addShellVars(found, path)
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		add := func(lit ast.Expr) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			s, err := strconv.Unquote(bl.Value)
			if err == nil && reEnvName.MatchString(s) {
				found[s] = fset.Position(bl.Pos()).String()
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				var name string
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if slices.Contains(envReaders, name) && len(n.Args) == 1 {
					add(n.Args[0])
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					rest, ok := strings.CutPrefix(strings.ToLower(id.Name[:1])+id.Name[1:], "env")
					if ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' && i < len(n.Values) {
						add(n.Values[i])
					}
				}
			}
			return true
		})
		return nil
	})
	if err == nil {
		err = addShellVars(found, "../../.ci/run")
	}
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// reShellInput matches a shell variable read with a default, ${NAME:-…}:
// how the scripts, CI and the aks plan template take their settings.
var reShellInput = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*):?[-=]`)

func addShellVars(found map[string]string, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, m := range reShellInput.FindAllSubmatch(b, -1) {
		found[string(m[1])] = path
	}
	return nil
}

// dependencyEnvVars are read by libraries on our behalf, where the README
// tells operators to set them: go-containerregistry's keychain (uid2-release
// push, aks policy) and azidentity's managed identity (azure-aks start-up).
var dependencyEnvVars = []string{"DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"}

// TestREADMEDocumentsEveryEnvVar: every environment variable the code reads
// is named in the README: the ones found in the source, the aks variables,
// and the config keys (each also an environment variable of the same name;
// the README may name a family as `*_metadata_path` or `*_refresh_ms`).
func TestREADMEDocumentsEveryEnvVar(t *testing.T) {
	readme := readREADME(t)
	vars := codeEnvVars(t)
	// The scan must keep finding the ways the code reads variables:
	// os.Getenv, os.LookupEnv, injected lookups and Env constants.
	for _, known := range []string{"UID2_API_KEY", "UID2_OPERATOR_KEY", "GOMEMLIMIT", "VERTX_CONFIG_PATH", "VAULT_NAME", "SKR_URL", "SOURCE_DATE_EPOCH", "UID2_RELEASE", "UID2_CI_PODMAN", "KEEP_WORK"} {
		if _, ok := vars[known]; !ok {
			t.Errorf("the source scan no longer finds %s; fix codeEnvVars", known)
		}
	}
	for _, name := range dependencyEnvVars {
		vars[name] = "read by a dependency"
	}
	for _, f := range aks.Fields() {
		vars[f.Env] = "aks.Fields"
	}
	for name, where := range vars {
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(readme) {
			t.Errorf("environment variable %s (%s) is not documented in the README", name, where)
		}
	}

	keys := 0
	ct := reflect.TypeOf(config.Config{})
	for i := range ct.NumField() {
		key, _, _ := strings.Cut(ct.Field(i).Tag.Get("json"), ",")
		if key == "" || key == "-" {
			continue
		}
		keys++
		if strings.Contains(readme, "`"+key+"`") {
			continue
		}
		if family, ok := keyFamily(key); ok && strings.Contains(readme, "`"+family+"`") {
			continue
		}
		t.Errorf("config key (and environment variable) %s is not documented in the README", key)
	}
	if keys < 50 {
		t.Fatalf("found %d config keys; the JSON tags changed?", keys)
	}
}

// keyFamily returns the README's name for the family a config key belongs
// to: the store parts' metadata paths and refresh intervals.
func keyFamily(key string) (string, bool) {
	for _, suffix := range []string{"_metadata_path", "_refresh_ms"} {
		if strings.HasSuffix(key, suffix) {
			return "*" + suffix, true
		}
	}
	return "", false
}

// TestREADMEInternalLinks: every (#anchor) link of the README points at a
// heading, with GitHub's anchor rules.
func TestREADMEInternalLinks(t *testing.T) {
	readme := readREADME(t)
	anchors := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := githubAnchor(strings.TrimLeft(line, "# "))
		for n := 1; anchors[slug]; n++ { // duplicates get -1, -2, …
			slug = githubAnchor(strings.TrimLeft(line, "# ")) + "-" + strconv.Itoa(n)
		}
		anchors[slug] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]*)\)`).FindAllStringSubmatch(readme, -1)
	if len(links) < 10 {
		t.Fatalf("found %d internal links; the pattern is wrong", len(links))
	}
	for _, l := range links {
		if !anchors[l[1]] {
			t.Errorf("README links to #%s; no heading has that anchor", l[1])
		}
	}
}

// githubAnchor is GitHub's heading anchor: lower case, spaces to hyphens,
// punctuation and symbols other than hyphens and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestREADMEQuickStartCommands: the developers' guide wants the README to
// open with the two commands that matter, in this order.
func TestREADMEQuickStartCommands(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readREADME(t), 2)
	want := []string{"go run ./cmd/uid2-operator", "go test ./..."}
	if len(blocks) < 2 {
		t.Fatalf("README has %d sh blocks; want the quick start's two", len(blocks))
	}
	for i, w := range want {
		if got := strings.TrimSpace(blocks[i][1]); got != w {
			t.Errorf("README's command block %d is %q; want %q", i+1, got, w)
		}
	}
}

// TestREADMERepoPaths: every path of this repository the README names in
// code (`internal/…`, `deploy/…`, `scripts/…`, `cmd/…`, `.ci/…`) exists.
func TestREADMERepoPaths(t *testing.T) {
	paths := regexp.MustCompile("`((?:internal|deploy|scripts|cmd|\\.ci)/[A-Za-z0-9_./-]*)`").FindAllStringSubmatch(readREADME(t), -1)
	if len(paths) < 10 {
		t.Fatalf("found %d repository paths; the pattern is wrong", len(paths))
	}
	for _, m := range paths {
		p := strings.TrimSuffix(strings.TrimSuffix(m[1], "/..."), "/")
		if _, err := os.Stat(filepath.Join("../..", p)); err != nil {
			t.Errorf("README names %s, which does not exist", m[1])
		}
	}
}
