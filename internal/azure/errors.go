// Package azure is the operator's Azure confidential-container start-up
// (azure-aks.md §1–§3): the deployment's environment variables, the operator
// key from Key Vault through the pod's managed identity, the SKR/MAA
// attestation provider, and the reference's E-coded start-up errors
// (azure-aks.md §1.4). It is the only package that imports the Azure SDK.
package azure

import (
	"fmt"
	"strings"
)

// Code is a start-up error code of the reference operator (azure-aks.md §1.4).
// The numbers are the reference's; E01 (AWS only) and E07 (removed) are not
// produced on Azure.
type Code int

// Start-up error codes.
const (
	E02 Code = 2 // OperatorKeyNotFoundError: vault or secret not found
	E03 Code = 3 // ConfigurationMissingError: a required variable is missing
	E04 Code = 4 // ConfigurationValueError: a variable has a bad value
	E05 Code = 5 // OperatorKeyValidationError: the key is for another environment
	E06 Code = 6 // UID2ServicesUnreachableError: Core cannot be reached
	E08 Code = 8 // OperatorKeyPermissionError: no identity, or the vault refused it
)

// names are the reference's class names; operators search for them.
var names = map[Code]string{
	E02: "OperatorKeyNotFoundError",
	E03: "ConfigurationMissingError",
	E04: "ConfigurationValueError",
	E05: "OperatorKeyValidationError",
	E06: "UID2ServicesUnreachableError",
	E08: "OperatorKeyPermissionError",
}

// GuideURL is the guidance every start-up error links to: the AKS guide,
// not the ACI guide the reference links to for every Azure deployment.
const GuideURL = "https://unifiedid.com/docs/guides/operator-guide-aks-enclave"

// String returns "E02", "E03", ….
func (c Code) String() string { return fmt.Sprintf("E%02d", int(c)) }

// Name returns the reference's error class name, e.g. "OperatorKeyNotFoundError".
func (c Code) Name() string { return names[c] }

// ExitCode is the process exit status for the code: 10 + the number, so
// E02 exits 12 and E08 exits 18 (kubectl describe shows it as the last
// state's exit code).
func (c Code) ExitCode() int { return 10 + int(c) }

// StartupError is a failed start-up step. Its Error text is one line,
//
//	E02: OperatorKeyNotFoundError: <what is wrong and how to fix it> (see <GuideURL>)
//
// and operators grep logs for it: keep the format.
type StartupError struct {
	Code Code
	// Msg says what is wrong and how to fix it. It never holds the
	// operator key.
	Msg string
	// Err is the underlying cause, if any, for errors.Is/As. Its text is
	// not part of Error: Msg already carries what the operator needs.
	Err error
}

func (e *StartupError) Error() string {
	// One line even if a cause's text had newlines in it.
	msg := strings.Join(strings.Fields(e.Msg), " ")
	return fmt.Sprintf("%s: %s: %s (see %s)", e.Code, e.Code.Name(), msg, GuideURL)
}

func (e *StartupError) Unwrap() error { return e.Err }

// ExitCode returns e.Code.ExitCode(); cli.Run uses it as the exit status.
func (e *StartupError) ExitCode() int { return e.Code.ExitCode() }

func startupErr(code Code, cause error, format string, args ...any) *StartupError {
	return &StartupError{Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}
