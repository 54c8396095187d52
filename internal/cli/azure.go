package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/uid2-private-operator/uid2-operator/internal/azure"
	"github.com/uid2-private-operator/uid2-operator/internal/config"
)

// Platforms serve can run on (--platform).
const (
	// platformAuto picks azure-aks when VAULT_NAME, OPERATOR_KEY_SECRET_NAME
	// and DEPLOYMENT_ENVIRONMENT are all set, and otherwise local or Core
	// mode from the config.
	platformAuto     = ""
	platformAzureAKS = "azure-aks"
	// platformDefault is local or Core mode from the config, never Azure.
	platformDefault = "default"
)

// DefaultAzureRetry bounds how long the Azure start-up retries the managed
// identity, Key Vault 401/403 (role assignments propagate slowly) and the
// SKR sidecar.
const DefaultAzureRetry = 3 * time.Minute

// azureFlags are serve's flags for the Azure start-up.
type azureFlags struct {
	platform string
	retryFor time.Duration
}

func (a *azureFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&a.platform, "platform", platformAuto,
		"`platform`: azure-aks (Key Vault operator key, SKR/MAA attestation) or default; empty picks azure-aks when VAULT_NAME, OPERATOR_KEY_SECRET_NAME and DEPLOYMENT_ENVIRONMENT are set")
	fl.DurationVar(&a.retryFor, "azure-retry", DefaultAzureRetry,
		"azure-aks: how long start-up retries the managed identity, Key Vault 401/403 and the SKR sidecar (0: try once)")
}

// useAzure reports whether serve runs the AKS start-up: --platform
// azure-aks or, with no --platform, the three variables of the AKS guide.
// (enclave_platform azure-cc without them runs runAzureCC instead.)
func useAzure(a azureFlags, lookup func(string) (string, bool)) (bool, error) {
	switch a.platform {
	case platformAzureAKS:
		return true, nil
	case platformDefault:
		return false, nil
	case platformAuto:
		return azure.Detect(lookup), nil
	}
	return false, usageError{fmt.Errorf("--platform: %q is not azure-aks or default", a.platform)}
}

// runAzureAKS is serve on Azure confidential containers (azure-aks.md §1.3,
// improved): read and validate the deployment's variables, fetch the
// operator key from Key Vault with the pod's managed identity, check the
// key's environment and that Core is reachable, wait for the SKR sidecar,
// then run Core mode with the SKR/MAA attestation provider. Every start-up
// failure is an *azure.StartupError: one "Exx: Name: …" line and exit
// status 10+xx.
func runAzureAKS(ctx context.Context, s streams, f serveFlags, log *slog.Logger, lookup func(string) (string, bool)) error {
	err := azureStartup(ctx, s, f, log, lookup)
	if err != nil && ctx.Err() != nil {
		// SIGTERM during start-up is a normal stop, not an E-code.
		log.Info("stopped before start-up finished", "during", err.Error())
		return nil
	}
	return err
}

func azureStartup(ctx context.Context, s streams, f serveFlags, log *slog.Logger, lookup func(string) (string, bool)) error {
	st, err := azure.Load(lookup)
	if err != nil {
		return err
	}
	for _, name := range st.Ignored {
		log.Warn("variable ignored: it applies only with DEPLOYMENT_ENVIRONMENT=integ", "name", name)
	}
	log.Info("azure-aks start-up",
		"environment", st.Environment, "vault", st.VaultURL, "secret", st.SecretName,
		"core", st.CoreBaseURL, "optout", st.OptoutBaseURL, "debug_mode", st.DebugMode,
		"skip_validations", st.SkipValidations, "image_version", st.ImageVersion)

	identityRetry, permissionRetry, skrWait := azureBackoffs(f.azure.retryFor)
	kv := &azure.KeyVault{
		URL:               st.VaultURL,
		Secret:            st.SecretName,
		AnyChallengeHost:  st.VaultURLOverridden,
		IdentityBackoff:   identityRetry,
		PermissionBackoff: permissionRetry,
		Log:               log,
	}
	if f.azure.retryFor <= 0 {
		kv.SDKRetries = -1
	}
	key, err := kv.OperatorKey(ctx)
	if err != nil {
		return err
	}
	log.Info("operator key read from Key Vault", "vault", st.VaultURL, "secret", st.SecretName)
	if err := st.CheckOperatorKey(key); err != nil {
		return err
	}
	if err := st.CheckCoreReachable(ctx, nil); err != nil {
		return err
	}
	prefix, err := azure.InstanceIDPrefix(st.ImageVersion, nil)
	if err != nil {
		return err
	}

	cfg, err := loadConfig(f, lookup, log)
	if err != nil {
		return err
	}
	applyAzure(&cfg, st, key, prefix)
	if err := cfg.Validate(); err != nil {
		return err
	}

	// maa_server_base_url (config or env) replaces the default MAA; the
	// MAA_URL test override replaces both.
	maa := st.MAABaseURL
	if _, overridden := lookup(azure.EnvMAAURL); !overridden && cfg.MaaServerBaseURL != "" {
		maa = cfg.MaaServerBaseURL
	}
	skr := &azure.SKR{URL: st.SKRURL, MAABaseURL: maa}
	if err := skr.WaitReady(ctx, skrWait, log); err != nil {
		return fmt.Errorf("attestation: %w", err)
	}
	return runCoreMode(ctx, cfg, skr, log)
}

// runAzureCC is the reference operator's own start-up for enclave_platform
// azure-cc, without the AKS entry script (core-and-optout.md §1.3): the
// operator key comes from Key Vault azure_vault_name / azure_secret_name with
// the managed identity, attestation goes through the SKR sidecar to
// maa_server_base_url, and Core and Opt-Out come from the config
// (core_attest_url and the metadata paths, or --core-url).
func runAzureCC(ctx context.Context, cfg config.Config, retryFor time.Duration, log *slog.Logger, lookup func(string) (string, bool)) error {
	for _, k := range []struct{ key, v string }{{"azure_vault_name", cfg.AzureVaultName}, {"azure_secret_name", cfg.AzureSecretName}} {
		if k.v == "" {
			return &config.ValidationError{Field: k.key, Msg: "required when enclave_platform is azure-cc (a config key or an environment variable of that name); " +
				"or set VAULT_NAME, OPERATOR_KEY_SECRET_NAME and DEPLOYMENT_ENVIRONMENT for the AKS start-up"}
		}
	}
	if !cfg.CoreMode() {
		return &config.ValidationError{Field: "core_attest_url", Msg: "required when enclave_platform is azure-cc (or pass --core-url)"}
	}
	ep, err := azure.LoadEndpoints(cfg.AzureVaultName, lookup)
	if err != nil {
		return err
	}
	log.Info("azure-cc start-up", "vault", ep.VaultURL, "secret", cfg.AzureSecretName,
		"maa", cmp.Or(cfg.MaaServerBaseURL, azure.DefaultMAABaseURL), "core", cfg.CoreAttestURL)
	identityRetry, permissionRetry, skrWait := azureBackoffs(retryFor)
	kv := &azure.KeyVault{
		URL:               ep.VaultURL,
		Secret:            cfg.AzureSecretName,
		AnyChallengeHost:  ep.VaultURLOverridden,
		IdentityBackoff:   identityRetry,
		PermissionBackoff: permissionRetry,
		Log:               log,
	}
	if retryFor <= 0 {
		kv.SDKRetries = -1
	}
	key, err := kv.OperatorKey(ctx)
	if err != nil {
		return err
	}
	cfg.CoreAPIToken = key
	skr := &azure.SKR{URL: ep.SKRURL, MAABaseURL: cfg.MaaServerBaseURL}
	if err := skr.WaitReady(ctx, skrWait, log); err != nil {
		if ctx.Err() != nil {
			return nil // SIGTERM during start-up is a normal stop
		}
		return fmt.Errorf("attestation: %w", err)
	}
	return runCoreMode(ctx, cfg, skr, log)
}

// applyAzure sets what the reference's {integ,prod}-uid2-config.json and
// azr.py set (azure-aks.md §1.3 step 4): the Core and Opt-Out URLs, the
// operator key, the azure-cc platform, the vault and secret names (azr.py
// exports them as azure_vault_name and azure_secret_name), encrypted files,
// the opt-out folder and the instance id. Unless a config file or variable
// sets it, client-side token generation is off, as for any private operator
// in Core mode: Core refuses it sites and keypairs.
func applyAzure(cfg *config.Config, st *azure.Settings, key, instancePrefix string) {
	if !cfg.IsSet("client_side_token_generate") {
		cfg.ClientSideTokenGenerate = false
	}
	cfg.StorageMock = false
	cfg.CoreAPIToken = key
	cfg.EnclavePlatform = config.PlatformAzureCC
	cfg.AzureVaultName, cfg.AzureSecretName = st.VaultName, st.SecretName
	cfg.OperatorType = "private"
	cfg.UIDInstanceIDPrefix = instancePrefix
	cfg.EncryptedFiles = true
	cfg.OptoutS3Folder = "optout-v2/"
	if st.Environment == azure.Integ {
		cfg.OptoutS3Folder = "uid-optout-integ/"
	} else {
		cfg.IdentityTokenExpiresAfterSeconds = 259200
	}
	cfg.DeriveCorePaths(st.CoreBaseURL, st.OptoutBaseURL)
}

// azureBackoffs returns the default retry schedules, or single attempts
// when d is 0, trimmed so that each schedule's waits add up to at most d.
func azureBackoffs(d time.Duration) (identity, permission, skr azure.Backoff) {
	return within(azure.DefaultIdentityBackoff, d), within(azure.DefaultPermissionBackoff, d), within(azure.DefaultSKRWait, d)
}

func within(b azure.Backoff, d time.Duration) azure.Backoff {
	if d <= 0 {
		return azure.Backoff{Attempts: 1}
	}
	n, total, wait := 1, time.Duration(0), b.Initial
	for n < b.Attempts && total+wait <= d {
		total += wait
		n++
		wait = min(wait*2, b.Max)
	}
	b.Attempts = n
	return b
}
