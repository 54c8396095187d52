package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/uid2-private-operator/uid2-operator/internal/localdata"
)

func newLocalCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Inspect or regenerate the embedded local-mode dataset",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newLocalCredentialsCommand(s), newLocalGenerateCommand(s))
	return cmd
}

func newLocalCredentialsCommand(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print the demo API keys, secrets and CSTG keys of the embedded dataset",
		Example: `  uid2-operator local credentials
  uid2-operator local credentials --json | jq -r .all.api_key`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				c, err := localdata.ReadCredentials()
				if err != nil {
					return err
				}
				enc := json.NewEncoder(s.out)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return printLocalCredentials(s, "")
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newLocalGenerateCommand(s streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the local dataset from its fixed seed (byte-identical on every run)",
		Long: `Write the local dataset from its fixed seed. The output is byte-identical on
every run; the embedded copy under internal/localdata/dataset is regenerated with
  go generate ./internal/localdata`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("--dir is required")}
			}
			files, err := localdata.Generate()
			if err != nil {
				return err
			}
			names, err := localdata.WriteDir(dir, files)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "wrote %d files to %s\n", len(names), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "output `directory`")
	return cmd
}

// printLocalCredentials prints the demo credentials in a table a person can
// copy from; httpAddr, when set, adds ready-to-run request examples.
func printLocalCredentials(s streams, httpAddr string) error {
	c, err := localdata.ReadCredentials()
	if err != nil {
		return err
	}
	w := s.out
	fmt.Fprintln(w, "Local mode: demo credentials of the embedded dataset (public; never use them in production)")
	fmt.Fprintf(w, "  %-10s %-8s %-62s %s\n", "client", "site_id", "api_key", "secret")
	for _, row := range []struct {
		name string
		c    localdata.Credential
	}{{"all", c.All}, {"generator", c.Generator}, {"mapper", c.Mapper}, {"id_reader", c.IDReader}, {"sharer", c.Sharer}, {"optout", c.Optout}} {
		fmt.Fprintf(w, "  %-10s %-8d %-62s %s\n", row.name, row.c.SiteID, row.c.APIKey, row.c.Secret)
	}
	fmt.Fprintf(w, "  cstg: subscription_id %s origin %s\n        server_public_key %s\n", c.CSTG.SubscriptionID, c.CSTG.Origin, c.CSTG.ServerPublicKey)
	if httpAddr != "" {
		fmt.Fprintf(w, "Try it:\n  go run ./cmd/uid2-operator request --base-url %s --api-key '%s' --secret '%s' /v2/token/generate '{\"email\":\"user@example.com\"}'\n",
			baseURL(httpAddr), c.All.APIKey, c.All.Secret)
	}
	return nil
}

// baseURL turns a listen address into a URL a local client can call.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port
}
