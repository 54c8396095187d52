package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	aksmanifest "github.com/uid2-private-operator/uid2-operator/deploy/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/aks"
	"github.com/uid2-private-operator/uid2-operator/internal/ccepolicy"
)

// policyRequest is what `aks policy` and the step 0 of `aks plan` need to
// compute a CCE policy.
type policyRequest struct {
	manifestPath string // "" means the manifest built into the binary
	image        string // operator image: oci:DIR or a registry reference
	sidecarImage string // "" means the SKR reference in the manifest
	debug        bool
	imageFlag    string // the flag image came from, for errors ("" means --image)
}

// debugPolicyWarning is printed whenever a debug policy is generated.
const debugPolicyWarning = "warning: --debug-policy: CORE_BASE_URL, OPTOUT_BASE_URL, DEBUG_MODE and SKIP_VALIDATIONS " +
	"may be set; this policy has a DIFFERENT enclave id from the production one. Register it only for a test environment."

// buildPolicy decodes the manifest, reads both images and returns the
// policy. Progress lines (one per layer) go to s.err.
func buildPolicy(ctx context.Context, s streams, req policyRequest) (*ccepolicy.Policy, error) {
	if req.image == "" {
		return nil, usageError{fmt.Errorf("policy: --image (or IMAGE) must name the operator image: oci:DIR (an OCI layout from uid2-release) or a registry reference")}
	}
	// Both sources are checked before any image is read: a typo in one
	// should not surface only after the other's layers were pulled and hashed.
	imageFlag := req.imageFlag
	if imageFlag == "" {
		imageFlag = "--image"
	}
	if err := ccepolicy.CheckSource(req.image); err != nil {
		return nil, usageError{fmt.Errorf("policy: %s: %w", imageFlag, err)}
	}
	if req.sidecarImage != "" {
		if err := ccepolicy.CheckSource(req.sidecarImage); err != nil {
			return nil, usageError{fmt.Errorf("policy: --sidecar-image: %w", err)}
		}
	}
	manifest := aksmanifest.Operator
	if req.manifestPath != "" {
		b, err := readInput(req.manifestPath)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		manifest = b
	}
	objs, err := aks.DecodeManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	pod, err := aks.PolicyPod(objs)
	if err != nil {
		return nil, err
	}
	sources := map[string]string{}
	var haveOperator bool
	for _, c := range pod.Containers {
		switch c.Name {
		case aks.OperatorContainer:
			sources[c.Image], haveOperator = req.image, true
		case aks.SKRContainer:
			if req.sidecarImage != "" {
				sources[c.Image] = req.sidecarImage
			}
		}
	}
	if !haveOperator {
		return nil, fmt.Errorf("policy: the manifest has no container named %s", aks.OperatorContainer)
	}
	if req.debug {
		fmt.Fprintln(s.err, debugPolicyWarning)
	}
	ctx, cancel := context.WithTimeout(ctx, ccepolicy.DefaultPullTimeout)
	defer cancel()
	p, err := ccepolicy.Build(ctx, ccepolicy.Loader{}, pod, sources, ccepolicy.Options{Debug: req.debug},
		func(line string) { fmt.Fprintln(s.err, line) })
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

func newAKSPolicyCommand(s streams, load func(*cobra.Command) aks.Vars) *cobra.Command {
	var req policyRequest
	var out string
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Compute the CCE policy of a manifest and print its enclave id",
		Long: `policy computes the confidential-container (CCE) policy of the operator pod
without Docker or az confcom: for every layer of the operator image and of
the SKR sidecar image it computes the dm-verity root hash the confidential
guest checks, and it writes the policy with hcsshim's marshalling: the
containers' commands, env rules, mounts, user and capabilities, the pause
container, the aci-cc-infra-fragment import and the allow_* flags.

Only VAULT_NAME, OPERATOR_KEY_SECRET_NAME and DEPLOYMENT_ENVIRONMENT may take
any value; every other env var is pinned. CORE_BASE_URL, OPTOUT_BASE_URL,
DEBUG_MODE and SKIP_VALIDATIONS are allowed only with --debug-policy, which
gives a different enclave id.

The enclave id (SHA-256 of the policy text, the x-ms-sevsnpvm-hostdata of the
attestation) is the last line on stdout: register it with UID2 before pods
with this policy start. 'aks render --cce-policy-file FILE' takes the output
file as it is. Registry credentials come from the Docker config
('az acr login', 'docker login').`,
		Example: `  go run ./cmd/uid2-release image --oci-layout out/image
  uid2-operator aks policy --image oci:out/image --output cce-policy.base64
  uid2-operator aks policy -f operator.yaml --image myacr.azurecr.io/uid2-operator:1.0 -o cce-policy.base64
  uid2-operator aks policy --image oci:out/image --debug-policy -o cce-policy.debug.base64` + "\n" + aksExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.image == "" {
				req.image = load(cmd).Image
			}
			if out != "" && out != "-" {
				if err := checkOutputPath("--output", out); err != nil {
					return err
				}
			}
			p, err := buildPolicy(cmd.Context(), s, req)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				fmt.Fprintln(s.out, p.Base64())
			} else {
				if err := writeOutput(out, []byte(p.Base64()+"\n"), 0o644); err != nil {
					return fmt.Errorf("policy: %w", err)
				}
				fmt.Fprintf(s.out, "wrote %s\n", out)
			}
			fmt.Fprintln(s.out, p.EnclaveID())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&req.manifestPath, "file", "f", "", "operator.yaml to measure (default: the manifest built into this binary)")
	f.StringVar(&req.image, "image", "", "operator image: oci:DIR (OCI layout) or a registry reference (default: IMAGE)")
	f.StringVar(&req.sidecarImage, "sidecar-image", "", "SKR sidecar image: oci:DIR or a registry reference (default: the manifest's skr image)")
	f.BoolVar(&req.debug, "debug-policy", false, "allow CORE_BASE_URL, OPTOUT_BASE_URL, DEBUG_MODE and SKIP_VALIDATIONS (a different enclave id; test environments only)")
	f.StringVarP(&out, "output", "o", "", "write the base64 policy to this file (default: stdout, before the enclave id)")
	return cmd
}

// defaultPlanPolicyFile is where `aks plan` writes the policy it computes.
const defaultPlanPolicyFile = "cce-policy.base64"

// planStepZero is step 0 of `aks plan`, run before the script is written
// and so before any az call: take the image, compute (or read) the CCE
// policy, and fill opts.EnclaveID. It fails when there is no image and no
// policy to take the enclave id from. The sources, in order:
//   - --image-source (oci:DIR or a registry reference): the user's own
//     build; the policy is written to --cce-policy-file
//     (default cce-policy.base64) and an OCI layout is pushed to IMAGE by
//     the script before render;
//   - --cce-policy-file naming an existing policy;
//   - the manifest (--manifest, the release ZIP's operator.yaml) when its
//     policy annotation is filled;
//   - IMAGE (a registry reference) when the manifest has no policy.
func planStepZero(ctx context.Context, s streams, v aks.Vars, opts *aks.PlanOptions, manifestSet bool, req policyRequest) error {
	manifest, manifestErr := readInput(opts.ManifestPath)
	// --sidecar-image and --debug-policy only shape a policy step 0 computes.
	computeOnly := func() error {
		if req.debug || req.sidecarImage != "" {
			return usageError{fmt.Errorf("plan: --debug-policy and --sidecar-image apply only when step 0 computes the policy (--image-source); the enclave id here comes from an existing policy")}
		}
		return nil
	}
	if req.image == "" && opts.PolicyFile != "" {
		if _, err := os.Stat(opts.PolicyFile); err == nil {
			if err := computeOnly(); err != nil {
				return err
			}
			b, err := readInput(opts.PolicyFile)
			if err != nil {
				return fmt.Errorf("plan: step 0: %w", err)
			}
			p, err := aks.NormalizePolicy(b)
			if err != nil {
				return fmt.Errorf("plan: step 0: %s: %w", opts.PolicyFile, err)
			}
			id, err := aks.EnclaveID(p)
			if err != nil {
				return fmt.Errorf("plan: step 0: %s: %w", opts.PolicyFile, err)
			}
			opts.EnclaveID = id
			fmt.Fprintf(s.err, "step 0: enclave id %s (policy %s); register it with UID2 before you run the script\n", id, opts.PolicyFile)
			return nil
		}
	}
	if req.image == "" && manifestErr == nil {
		if id, ok, err := manifestEnclaveID(manifest); err != nil {
			return fmt.Errorf("plan: step 0: %s: %w", opts.ManifestPath, err)
		} else if ok {
			if err := computeOnly(); err != nil {
				return err
			}
			opts.EnclaveID = id
			fmt.Fprintf(s.err, "step 0: enclave id %s (policy in %s); it must be registered with UID2\n", id, opts.ManifestPath)
			return nil
		}
	}
	if req.image == "" {
		req.image, req.imageFlag = v.Image, "IMAGE (--image)"
	} else {
		req.imageFlag = "--image-source"
	}
	if req.image == "" {
		return aksFailed{fmt.Sprintf("plan: step 0: no image and no CCE policy: build your image (uid2-release image --oci-layout DIR) and pass --image-source oci:DIR with IMAGE set to your registry, or use the operator.yaml of a UID2 release ZIP (--manifest); %s: %v",
			opts.ManifestPath, describeMissing(manifestErr))}
	}
	if v.Image == "" {
		return usageError{fmt.Errorf("plan: IMAGE (--image) must name the registry repository the pods pull %s from, e.g. myacr.azurecr.io/uid2-operator:1.0", req.image)}
	}
	if dir, ok := strings.CutPrefix(req.image, ccepolicy.LayoutPrefix); ok {
		opts.ImageLayout = dir
	}
	if manifestSet || manifestErr == nil {
		req.manifestPath = opts.ManifestPath
	} else {
		opts.BuiltinManifest = true
	}
	if opts.PolicyFile == "" {
		opts.PolicyFile = defaultPlanPolicyFile
	}
	if err := checkOutputPath("--cce-policy-file", opts.PolicyFile); err != nil {
		return err
	}
	fmt.Fprintf(s.err, "step 0: computing the CCE policy of %s\n", req.image)
	p, err := buildPolicy(ctx, s, req)
	if err != nil {
		return err
	}
	if err := writeOutput(opts.PolicyFile, []byte(p.Base64()+"\n"), 0o644); err != nil {
		return fmt.Errorf("plan: step 0: %w", err)
	}
	opts.EnclaveID = p.EnclaveID()
	fmt.Fprintf(s.err, "step 0: wrote %s; enclave id %s: register it with UID2 before you run the script\n", opts.PolicyFile, opts.EnclaveID)
	return nil
}

// manifestEnclaveID returns the enclave id of the manifest's policy
// annotation, and false when the annotation is still a placeholder.
func manifestEnclaveID(manifest []byte) (string, bool, error) {
	objs, err := aks.DecodeManifest(manifest)
	if err != nil {
		return "", false, err
	}
	if len(objs.Deployments) != 1 {
		return "", false, fmt.Errorf("%d Deployments; want 1", len(objs.Deployments))
	}
	policy := objs.Deployments[0].Spec.Template.Annotations[aks.AnnotationCCEPolicy]
	if policy == "" || policy == aks.PlaceholderCCEPolicy {
		return "", false, nil
	}
	id, err := aks.EnclaveID(policy)
	return id, err == nil, err
}

func describeMissing(err error) string {
	if err == nil {
		return "its CCE policy is still CCE_POLICY_PLACEHOLDER"
	}
	return err.Error()
}
