package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/uid2-private-operator/uid2-operator/internal/client"
)

// maxRequestInput bounds what request reads from an argument or stdin.
const maxRequestInput = 1 << 20

func newRequestCommand(s streams) *cobra.Command {
	c := client.Client{}
	var timeout time.Duration
	var refreshKey string
	cmd := &cobra.Command{
		Use:   "request PATH [JSON|-]",
		Short: "Call an operator endpoint with a v2 envelope and print the decrypted response",
		Long: `Call a UID2 operator endpoint the way the SDKs do: build the encrypted v2
request envelope from the JSON payload, send it, check the echoed nonce and
print the decrypted response. The payload comes from the argument, or from
stdin when it is "-" or missing; an empty payload is valid (the /v2/key/*
endpoints take one).

For /v2/token/refresh the payload is the refresh_token; pass
--refresh-response-key to decrypt the answer, or pass the whole "body" object
of a generate response ({"refresh_token":…,"refresh_response_key":…}).

Flags fall back to UID2_BASE_URL, UID2_API_KEY and UID2_SECRET_KEY.

EXIT CODES
  0  HTTP 200 and a decrypted response
  1  any other HTTP status (the body is printed to stderr) or a transport error
  2  bad flags or arguments`,
		Example: `  export UID2_BASE_URL=http://localhost:8080 UID2_API_KEY=... UID2_SECRET_KEY=...
  uid2-operator request /v2/token/generate '{"email":"user@example.com"}'
  echo '{"email":["a@example.com","b@example.com"]}' | uid2-operator request /v3/identity/map
  uid2-operator request /v2/key/sharing ''`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.BaseURL == "" {
				c.BaseURL = os.Getenv("UID2_BASE_URL")
			}
			if c.APIKey == "" {
				c.APIKey = os.Getenv("UID2_API_KEY")
			}
			if c.Secret == "" {
				c.Secret = os.Getenv("UID2_SECRET_KEY")
			}
			if c.BaseURL == "" {
				return usageError{errors.New("--base-url (or UID2_BASE_URL) is required")}
			}
			path := args[0]
			var payload []byte
			if len(args) == 2 && args[1] != "-" {
				payload = []byte(args[1])
			} else {
				b, err := io.ReadAll(io.LimitReader(s.in, maxRequestInput+1))
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				if len(b) > maxRequestInput {
					return usageError{fmt.Errorf("payload: larger than %d bytes", maxRequestInput)}
				}
				payload = b
			}
			payload = bytes.TrimSpace(payload)
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var out []byte
			var err error
			if path == "/v2/token/refresh" {
				out, err = doRefresh(ctx, &c, payload, refreshKey)
			} else {
				if len(payload) > 0 && !json.Valid(payload) {
					return usageError{errors.New("payload: not valid JSON")}
				}
				if c.APIKey == "" || (c.Secret == "" && !c.Plain) {
					return usageError{errors.New("--api-key and --secret (or UID2_API_KEY and UID2_SECRET_KEY) are required")}
				}
				out, err = c.Do(ctx, path, payload)
			}
			if err != nil {
				return err
			}
			return printJSON(s.out, out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.BaseURL, "base-url", "", "operator base `URL` (env UID2_BASE_URL)")
	fl.StringVar(&c.APIKey, "api-key", "", "API `key` (env UID2_API_KEY)")
	fl.StringVar(&c.Secret, "secret", "", "client `secret`, base64 (env UID2_SECRET_KEY)")
	fl.BoolVar(&c.Binary, "binary", false, "send application/octet-stream envelopes instead of base64 text")
	fl.BoolVar(&c.Plain, "plain", false, "send plain JSON (operators with enable_v2_encryption=false)")
	fl.StringVar(&refreshKey, "refresh-response-key", "", "/v2/token/refresh: the refresh_response_key that decrypts the answer")
	fl.DurationVar(&timeout, "timeout", 30*time.Second, "request timeout")
	return cmd
}

// doRefresh accepts a bare refresh token or a generate response body.
func doRefresh(ctx context.Context, c *client.Client, payload []byte, key string) ([]byte, error) {
	tok := string(payload)
	if len(payload) > 0 && payload[0] == '{' {
		var id client.Identity
		if err := json.Unmarshal(payload, &id); err != nil || id.RefreshToken == "" {
			return nil, usageError{errors.New("payload: expected a refresh token or a JSON object with refresh_token")}
		}
		tok = id.RefreshToken
		if key == "" {
			key = id.RefreshResponseKey
		}
	}
	return c.Refresh(ctx, tok, key)
}

// printJSON pretty-prints a JSON document, or writes it as is if it is not JSON.
func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		_, err = w.Write(append(b, '\n'))
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
