package cli

import (
	"encoding/json"
	"fmt"
	"io"
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
	var asJSON, e2eEnv bool
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print the demo API keys, secrets and CSTG keys of the embedded dataset",
		Example: `  uid2-operator local credentials
  uid2-operator local credentials --json | jq -r .all.api_key
  uid2-operator local credentials --e2e-env > e2e.env   # for uid2-e2e: docker run --env-file e2e.env …`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON && e2eEnv {
				return usageError{fmt.Errorf("--json and --e2e-env exclude each other")}
			}
			if e2eEnv {
				return printE2EEnv(s)
			}
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
	cmd.Flags().BoolVar(&e2eEnv, "e2e-env", false, "print NAME=value lines of the variables IABTechLab/uid2-e2e reads for its operator tests in local mode")
	return cmd
}

// e2eInvalidOrigin is an origin that no demo site lists, for uid2-e2e's
// CSTG invalid-origin test.
const e2eInvalidOrigin = "https://invalid-origin.example"

// printE2EEnv prints the variables uid2-e2e's operator tests read in local
// mode (its common.Const.Config.Operator names), filled from the embedded
// dataset: "all" is the CLIENT, "sharer" the sharing recipient and
// "non_sharing" the non-sharing recipient. The lines suit docker --env-file
// and `set -a; . FILE`. E2E_ENV is left to the caller: local-private
// expects this operator on localhost:8180, local-public on localhost:8888
// with a Core on localhost:8088.
func printE2EEnv(s streams) error {
	c, err := localdata.ReadCredentials()
	if err != nil {
		return err
	}
	for _, v := range [][2]string{
		{"E2E_IDENTITY_SCOPE", "UID2"},
		{"E2E_PHONE_SUPPORT", "true"},
		{"UID2_OPERATOR_E2E_CLIENT_SITE_ID", fmt.Sprint(c.All.SiteID)},
		{"UID2_OPERATOR_E2E_CLIENT_API_KEY", c.All.APIKey},
		{"UID2_OPERATOR_E2E_CLIENT_API_SECRET", c.All.Secret},
		{"UID2_OPERATOR_E2E_CLIENT_API_KEY_SHARING_RECIPIENT", c.Sharer.APIKey},
		{"UID2_OPERATOR_E2E_CLIENT_API_SECRET_SHARING_RECIPIENT", c.Sharer.Secret},
		{"UID2_OPERATOR_E2E_CLIENT_API_KEY_NON_SHARING_RECIPIENT", c.NonSharing.APIKey},
		{"UID2_OPERATOR_E2E_CLIENT_API_SECRET_NON_SHARING_RECIPIENT", c.NonSharing.Secret},
		{"UID2_OPERATOR_E2E_CSTG_SUBSCRIPTION_ID", c.CSTG.SubscriptionID},
		{"UID2_OPERATOR_E2E_CSTG_SERVER_PUBLIC_KEY", c.CSTG.ServerPublicKey},
		{"UID2_OPERATOR_E2E_CSTG_ORIGIN", c.CSTG.Origin},
		{"UID2_OPERATOR_E2E_CSTG_INVALID_ORIGIN", e2eInvalidOrigin},
	} {
		fmt.Fprintf(s.out, "%s=%s\n", v[0], v[1])
	}
	return nil
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
	writeCredentialTable(w, &c)
	fmt.Fprintf(w, "  cstg: subscription_id %s origin %s\n        server_public_key %s\n", c.CSTG.SubscriptionID, c.CSTG.Origin, c.CSTG.ServerPublicKey)
	if httpAddr != "" {
		fmt.Fprintf(w, "Try it:\n  go run ./cmd/uid2-operator request --base-url %s --api-key '%s' --secret '%s' /v2/token/generate '{\"email\":\"user@example.com\"}'\n",
			baseURL(httpAddr), c.All.APIKey, c.All.Secret)
	}
	return nil
}

// writeCredentialTable writes the clients of c as an aligned table, the
// same in local mode and under the stand-in Core.
func writeCredentialTable(w io.Writer, c *localdata.Credentials) {
	fmt.Fprintf(w, "  %-11s %-8s %-62s %s\n", "client", "site_id", "api_key", "secret")
	for _, row := range c.Clients() {
		fmt.Fprintf(w, "  %-11s %-8d %-62s %s\n", row.Name, row.SiteID, row.APIKey, row.Secret)
	}
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
