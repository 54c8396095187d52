#!/usr/bin/env bash
# Conformance check with the official UID2 Python SDK (IABTechLab/uid2-client-python):
# builds this operator, runs it on 127.0.0.1 and drives it with the SDK, then checks
# /metrics against the README's metrics table. Nothing of the SDK is copied here: the
# script runs the checkout it is given.
#
# Usage: scripts/sdk-python-check.sh SDK_CHECKOUT
#   SDK_CHECKOUT  a work tree of uid2-client-python (uid2_client/ and tests/ at its top)
# Environment:
#   PYTHON        interpreter with the SDK's dependencies (default /usr/bin/python3, else python3)
#   OPERATOR_BIN  use this operator binary instead of building one
#   KEEP_WORK=1   keep the temp directory (operator logs, shim) and print its path
#
# Dependencies: pycryptodome (module Crypto, or Debian's Cryptodome), bitarray,
# typing_extensions and pytest. Without PyPI, Debian has them:
#   apt-get install -y python3-pycryptodome python3-bitarray python3-typing-extensions python3-pytest
# A temp shim directory bridges Debian's packaging: a `Crypto` alias of `Cryptodome`, a
# typing_extensions with `deprecated` (added in 4.5; bookworm has 4.4), and package
# metadata so the SDK reports its real version in X-UID2-Client-Version.
#
# Runs, each against a fresh operator:
#   1. the SDK's offline unit tests (pytest tests/, no operator);
#   2. local mode (embedded dataset): the SDK's integration tests (UID2_BASE_URL/_API_KEY/
#      _SECRET_KEY set to the demo client with every role) and scripts/sdk-python/drive.py,
#      with a client-side generated token (CSTG is on in local mode);
#   3. local mode with identity_scope=euid: the SDK's EUID tests (EUID_* variables) and
#      drive.py with OP_SCOPE=euid (TCF consent, EUID token prefixes and key scope);
#   4. Core mode (`uid2-operator core` stand-in + `serve --core-url`): the integration
#      tests and drive.py without its extra checks, a metrics report (what the SDK alone
#      makes appear), then drive.py with the extra checks (validate, opt-out status,
#      X-UID2-AppVersion) and the metrics check: every reference family of the README
#      table with the table's labels (the EUID-only TCF family is required in run 3).
# One integration test is deselected: PublisherUid2IntegrationTests::test_integration_bad_requests
# calls https://www.something.com, which needs the internet; drive.py checks the same
# error answers (bad secret 400, unknown key 401) against the operator.
#
# Exit status: 0 when every step passed, 1 when a step failed, 2 on a setup problem.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

sdk=${1:-}
if [[ -z $sdk || ! -d $sdk/uid2_client || ! -d $sdk/tests ]]; then
  echo "usage: $0 SDK_CHECKOUT   (a uid2-client-python work tree)" >&2
  exit 2
fi
sdk=$(cd "$sdk" && pwd)
python=${PYTHON:-}
if [[ -z $python ]]; then
  if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=python3; fi
fi
for cmd in "$python" curl go; do
  command -v "$cmd" >/dev/null || { echo "sdk-python-check: $cmd is not installed" >&2; exit 2; }
done

work=$(mktemp -d /tmp/sdk-python-check.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "sdk-python-check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- Python environment: the shim and a dependency check ---
shim=$work/shim
mkdir -p "$shim"
if ! "$python" -c 'import Crypto.Cipher.AES' 2>/dev/null; then
  cryptodome=$("$python" -c 'import Cryptodome, os; print(os.path.dirname(Cryptodome.__file__))' 2>/dev/null) || {
    echo "sdk-python-check: no pycryptodome for $python (apt-get install python3-pycryptodome)" >&2; exit 2; }
  ln -s "$cryptodome" "$shim/Crypto"
fi
if ! "$python" -c 'from typing_extensions import deprecated' 2>/dev/null; then
  te=$("$python" -c 'import typing_extensions; print(typing_extensions.__file__)' 2>/dev/null) || {
    echo "sdk-python-check: no typing_extensions for $python (apt-get install python3-typing-extensions)" >&2; exit 2; }
  cat >"$shim/typing_extensions.py" <<EOF
# typing_extensions from $te plus a no-op \`deprecated\` decorator (typing_extensions 4.5+).
import importlib.util as _util
_spec = _util.spec_from_file_location("_system_typing_extensions", "$te")
_mod = _util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})


def deprecated(*_args, **_kwargs):
    return lambda obj: obj
EOF
fi
sdk_version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$sdk/pyproject.toml" | head -n 1)
sdk_version=${sdk_version:-unknown}
mkdir -p "$shim/uid2_client-$sdk_version.dist-info"
printf 'Metadata-Version: 2.1\nName: uid2_client\nVersion: %s\n' "$sdk_version" >"$shim/uid2_client-$sdk_version.dist-info/METADATA"
export PYTHONPATH="$shim:$sdk" PYTHONDONTWRITEBYTECODE=1
for mod in Crypto.Cipher.AES bitarray typing_extensions pytest uid2_client; do
  "$python" -c "import $mod" 2>/dev/null || {
    echo "sdk-python-check: $python cannot import $mod (see the apt-get line in $0)" >&2; exit 2; }
done

# --- the operator ---
op=${OPERATOR_BIN:-}
if [[ -z $op ]]; then
  op=$work/uid2-operator
  echo "== building the operator ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  go build -o "$op" ./cmd/uid2-operator
fi
creds=$("$op" local credentials --json)
cred() { "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$1" "$2" <<<"$creds"; }
api_key=$(cred all api_key)
secret=$(cred all secret)

# free_port prints a TCP port that was free a moment ago.
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME ENV... -- ARGS...: run the operator (or `core`) in the background, logging to $work/NAME.log.
start() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$op" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

# wait_healthy URL LOG: wait for /ops/healthcheck to answer 200.
wait_healthy() {
  local code=000
  for _ in $(seq 1 60); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/ops/healthcheck" || true)
    [[ $code == 200 ]] && return 0
    sleep 0.5
  done
  echo "sdk-python-check: $1 not healthy (last $code); log:" >&2
  tail -n 20 "$2" >&2
  return 1
}

results=()
failures=0
# record NAME STATUS SUMMARY
record() {
  results+=("$(printf '%-44s %-4s %s' "$1" "$2" "$3")")
  [[ $2 == ok ]] || failures=$((failures + 1))
}

# pytest_run NAME [VAR=VALUE...] -- ARGS...: the SDK's tests with pytest (only the
# given UID2_*/EUID_* variables set); records pytest's summary line.
pytest_run() {
  local name=$1 envs=() out status=ok
  shift
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  out=$(cd "$sdk" && env -u UID2_BASE_URL -u UID2_API_KEY -u UID2_SECRET_KEY -u EUID_BASE_URL -u EUID_API_KEY \
    -u EUID_SECRET_KEY "${envs[@]}" "$python" -m pytest -q -p no:cacheprovider -rfE "$@" 2>&1) || status=FAIL
  printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) ' || true
  record "$name" "$status" "$(printf '%s\n' "$out" | tail -n 1 | tr -d '=' | sed 's/^ *//')"
}

# drive NAME BASE SCOPE EXTRA [CSTG]: scripts/sdk-python/drive.py; records its SUMMARY line.
drive() {
  local out status=ok
  out=$(OP_BASE=$2 OP_SCOPE=$3 OP_EXTRA=$4 OP_CSTG=${5:-0} OP_CREDS=$creds OP_SDK_VERSION=$sdk_version \
    "$python" "$repo/scripts/sdk-python/drive.py" 2>&1) || status=FAIL
  printf '%s\n' "$out" | grep -v '^SUMMARY' | sed 's/^/   /'
  record "$1" "$status" "$(printf '%s\n' "$out" | sed -n 's/^SUMMARY //p')"
}

# metrics NAME URL ARGS...: scripts/sdk-python/metrics_check.py.
metrics() {
  local name=$1 url=$2 out status=ok
  shift 2
  out=$("$python" "$repo/scripts/sdk-python/metrics_check.py" "$repo/README.md" "$url" "$@" 2>&1) || status=FAIL
  printf '%s\n' "$out" | sed 's/^/   /'
  record "$name" "$status" "$(printf '%s\n' "$out" | sed -n 's/^reference families \(found\|missing\)[^(]*(\([0-9]*\)).*/\1 \2/p' | paste -sd ' ')"
}

deselect=(--deselect tests/test_publisher_client.py::PublisherUid2IntegrationTests::test_integration_bad_requests)

echo "== 1. SDK offline unit tests ($sdk, uid2_client $sdk_version)"
pytest_run "1 SDK unit tests (no operator)" -- tests

echo "== 2. local mode"
http=$(free_port) mport=$(free_port)
base=http://127.0.0.1:$http
start local -- serve --drain-delay 0 --http-addr "127.0.0.1:$http" --metrics-addr "127.0.0.1:$mport"
wait_healthy "$base" "$work/local.log"
pytest_run "2 local: SDK integration tests" "UID2_BASE_URL=$base" "UID2_API_KEY=$api_key" "UID2_SECRET_KEY=$secret" \
  -- tests "${deselect[@]}"
drive "2 local: drive.py" "$base" uid2 1 1
metrics "2 local: metrics (informational)" "http://127.0.0.1:$mport/metrics"

echo "== 3. local mode, identity_scope=euid"
http=$(free_port) mport=$(free_port)
base=http://127.0.0.1:$http
start euid identity_scope=euid -- serve --drain-delay 0 --http-addr "127.0.0.1:$http" --metrics-addr "127.0.0.1:$mport"
wait_healthy "$base" "$work/euid.log"
pytest_run "3 euid: SDK EUID tests" "EUID_BASE_URL=$base" "EUID_API_KEY=$api_key" "EUID_SECRET_KEY=$secret" \
  -- tests/test_publisher_client.py -k Euid
drive "3 euid: drive.py" "$base" euid 1
metrics "3 euid: metrics (TCF family required)" "http://127.0.0.1:$mport/metrics" --require uid2_token_generate_tcf_usage_total

echo "== 4. Core mode (stand-in Core + serve --core-url)"
cport=$(free_port) http=$(free_port) mport=$(free_port)
base=http://127.0.0.1:$http
operator_key=$("$op" core --print-credentials | grep -o 'UID2-O-[^ ]*' | head -n 1)
start core -- core --http-addr "127.0.0.1:$cport"
wait_healthy "http://127.0.0.1:$cport" "$work/core.log"
start operator "UID2_OPERATOR_KEY=$operator_key" -- serve --drain-delay 0 --core-url "http://127.0.0.1:$cport" \
  --http-addr "127.0.0.1:$http" --metrics-addr "127.0.0.1:$mport"
wait_healthy "$base" "$work/operator.log"
pytest_run "4 core: SDK integration tests" "UID2_BASE_URL=$base" "UID2_API_KEY=$api_key" "UID2_SECRET_KEY=$secret" \
  -- tests "${deselect[@]}"
drive "4 core: drive.py (SDK clients only)" "$base" uid2 0
metrics "4 core: metrics after the SDK alone (info)" "http://127.0.0.1:$mport/metrics"
drive "4 core: drive.py (with extra checks)" "$base" uid2 1
metrics "4 core: metrics, every reference family" "http://127.0.0.1:$mport/metrics" \
  --require-all --allow-missing uid2_token_generate_tcf_usage_total

echo
echo "== summary"
printf '%s\n' "${results[@]}"
if ((failures > 0)); then
  echo "sdk-python-check: $failures step(s) failed"
  exit 1
fi
echo "sdk-python-check: all steps passed"
