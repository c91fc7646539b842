# shellcheck shell=bash
# MicroTraderX: what every script of the tutorial shares. Sourced, never run.
#
# Environment (all optional):
#   MTX_WORKDIR           where the tutorial keeps its files (default: examples/microtraderx/work)
#   GITOPS_CONFIG         the config dir stage 1 makes with `gitops init` (default: $MTX_WORKDIR/config)
#   GITOPS_REPO           the manifests repo (default: $MTX_WORKDIR/manifests)
#   KUBECONFIG            the clusters: its contexts are the spaces' targets, by default
#                           traderx-base  kind-traderx-dev   (MTX_CONTEXT_BASE)
#                           traderx-dev   kind-traderx-dev   (MTX_CONTEXT_DEV)
#                           traderx-staging  traderx-staging (MTX_CONTEXT_STAGING)
#                           traderx-prod-us/eu/asia  prod-us, prod-eu, prod-asia
#                                                     (MTX_CONTEXT_US, MTX_CONTEXT_EU, MTX_CONTEXT_ASIA)
#                         set an MTX_CONTEXT_* to deploy a space elsewhere, e.g. all of them to
#                         the one context of a local cluster.
#   MTX_NAMESPACE_PREFIX  put before every namespace (default: none), so several runs can
#                         share one cluster: traderx-prod-eu deploys to ${PREFIX}traderx-prod-eu.
#
# The scripts run `gitops` for everything they change and kubectl only to look at clusters.

set -euo pipefail

MTX_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_absolute() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

MTX_WORKDIR=$(_absolute "${MTX_WORKDIR:-$MTX_HOME/work}")
GITOPS_CONFIG=$(_absolute "${GITOPS_CONFIG:-$MTX_WORKDIR/config}")
GITOPS_REPO=$(_absolute "${GITOPS_REPO:-$MTX_WORKDIR/manifests}")
export MTX_WORKDIR GITOPS_CONFIG GITOPS_REPO
PREFIX=${MTX_NAMESPACE_PREFIX:-}
MTX_CONTEXT_BASE=${MTX_CONTEXT_BASE:-kind-traderx-dev}
MTX_CONTEXT_DEV=${MTX_CONTEXT_DEV:-kind-traderx-dev}
MTX_CONTEXT_STAGING=${MTX_CONTEXT_STAGING:-traderx-staging}
MTX_CONTEXT_US=${MTX_CONTEXT_US:-prod-us}
MTX_CONTEXT_EU=${MTX_CONTEXT_EU:-prod-eu}
MTX_CONTEXT_ASIA=${MTX_CONTEXT_ASIA:-prod-asia}
# shellcheck disable=SC2034  # used by the scripts that source this file
REGIONS=(us eu asia)
# The order the scripts deploy in: the pipeline, then the regions.
DEPLOY_ORDER=(traderx-dev traderx-staging traderx-prod-us traderx-prod-eu traderx-prod-asia)
STAGE_FILE=$GITOPS_CONFIG/.microtraderx-stage

cd "$MTX_HOME"  # so the manifests under k8s/ read as k8s/...

# --- printing ------------------------------------------------------------------------------

# A path as the user would type it: relative to this directory when it is under it.
rel() {
  printf '%s\n' "${1#"$PWD"/}"
}

_quote() {
  local plain='^[A-Za-z0-9_./:=@,+%-]+$'
  local special='[$`\\!"]'
  if [[ $1 =~ $plain ]]; then
    printf '%s' "$1"
  elif [[ $1 == *"'"* && ! $1 =~ $special ]]; then
    printf '"%s"' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# show CMD ARG...: print the command as you would type it, then run it.
show() {
  local line='$' arg
  for arg in "$@"; do
    line+=" $(_quote "$arg")"
  done
  printf '\n%s\n' "$line"
  "$@"
}

say() {
  printf '\n== %s\n' "$*"
}

note() {
  printf '   %s\n' "$@"
}

banner() {
  local title="MicroTraderX stage $1: $2"
  printf '%s\n%s\n' "$title" "${title//?/=}"
  shift 2
  note "$@"
}

# --- the tutorial's spaces ----------------------------------------------------------------

# context_of SPACE: the kube context a space deploys to.
context_of() {
  case $1 in
    traderx-base) printf '%s\n' "$MTX_CONTEXT_BASE" ;;
    traderx-dev) printf '%s\n' "$MTX_CONTEXT_DEV" ;;
    traderx-staging) printf '%s\n' "$MTX_CONTEXT_STAGING" ;;
    traderx-prod-us) printf '%s\n' "$MTX_CONTEXT_US" ;;
    traderx-prod-eu) printf '%s\n' "$MTX_CONTEXT_EU" ;;
    traderx-prod-asia) printf '%s\n' "$MTX_CONTEXT_ASIA" ;;
    *) printf 'no context for %s\n' "$1" >&2; return 1 ;;
  esac
}

# namespace_of SPACE: where its objects go (the base's is traderx, every other space's its name).
namespace_of() {
  if [[ $1 == traderx-base ]]; then
    printf '%straderx\n' "$PREFIX"
  else
    printf '%s%s\n' "$PREFIX" "$1"
  fi
}

space_exists() {
  gitops space get "$1" -o json >/dev/null 2>&1
}

unit_exists() {
  gitops unit get "$2" --space "$1" -o json >/dev/null 2>&1
}

# The spaces of DEPLOY_ORDER that exist so far.
existing_spaces() {
  local space
  for space in "${DEPLOY_ORDER[@]}"; do
    if space_exists "$space"; then
      printf '%s\n' "$space"
    fi
  done
}

# need_contexts SPACE...: stop with a clear line when the kubeconfig lacks a space's context.
need_contexts() {
  local known space context
  known=$(kubectl config get-contexts -o name)
  for space in "$@"; do
    context=$(context_of "$space")
    if ! grep -qxF -- "$context" <<<"$known"; then
      printf '✗ %s deploys to the kube context %s, which %s does not have\n' "$space" "$context" \
        "${KUBECONFIG:-~/.kube/config}"
      note "create it (kind create cluster --name traderx-dev makes kind-traderx-dev), or point the" \
        "space elsewhere: MTX_CONTEXT_BASE, _DEV, _STAGING, _US, _EU, _ASIA (see lib.sh)"
      exit 1
    fi
  done
}

# --- which stages are set up ----------------------------------------------------------------

stage_reached() {
  if [[ -f $STAGE_FILE ]]; then
    cat "$STAGE_FILE"
  else
    printf '0\n'
  fi
}

mark_stage() {
  printf '%s\n' "$1" >"$STAGE_FILE"
}

stage_number() {
  if [[ ! ${1:-} =~ ^[1-8]$ ]]; then
    printf 'usage: %s N   (N: a stage, 1 to 8)\n' "$(basename "$0")" >&2
    exit 2
  fi
}

# --- reading a unit back (for validate) ------------------------------------------------------

# What `pick` prints of `gitops unit get -o json`: replicas, image (first container), env NAME
# (a variable of the first container), upstream, backend (an Ingress's default backend).
_PICK='
import json, sys
unit = json.load(sys.stdin)
what, name = sys.argv[1], sys.argv[2]
data = unit["data"]
pod = (data.get("spec") or {}).get("template", {}).get("spec", {})
first = (pod.get("containers") or [{}])[0]
value = {
    "replicas": lambda: data["spec"].get("replicas"),
    "image": lambda: first.get("image"),
    "env": lambda: next((e.get("value") for e in first.get("env") or [] if e["name"] == name), None),
    "upstream": lambda: unit.get("upstream"),
    "backend": lambda: data["spec"]["defaultBackend"]["service"]["name"],
}[what]()
print("" if value is None else value)
'

# pick SPACE UNIT WHAT [NAME]: one value of a unit as git has it.
pick() {
  local json
  json=$(gitops unit get "$2" --space "$1" -o json 2>/dev/null) || return 1
  python3 -c "$_PICK" "$3" "${4:-}" <<<"$json"
}

# live SPACE KUBECTL-ARGS...: kubectl against the space's cluster and namespace.
live() {
  local space=$1
  shift
  kubectl --context "$(context_of "$space")" --namespace "$(namespace_of "$space")" "$@"
}

# --- checks (for validate): a ✓ line each, or a ✗ line and exit 1 -----------------------------

pass() {
  printf '✓ %s\n' "$*"
}

fail() {
  printf '✗ %s\n' "$*"
  exit 1
}

expect() {
  local what=$1 found=$2 wanted=$3
  if [[ $found == "$wanted" ]]; then
    pass "$what: ${found:-none}"
  else
    fail "$what: expected ${wanted:-nothing}, found ${found:-nothing}"
  fi
}

# in_git SPACE UNIT WHAT [NAME] WANTED
in_git() {
  local space=$1 unit=$2 what=$3 name='' wanted found
  if [[ $what == env ]]; then
    name=$4
    wanted=$5
  else
    wanted=$4
  fi
  found=$(pick "$space" "$unit" "$what" "$name") || fail "git: $space/$unit does not exist (gitops unit get $unit --space $space)"
  expect "git: $space/$unit ${what}${name:+ $name}" "$found" "$wanted"
}

# live_is SPACE WHAT KIND/NAME JSONPATH WANTED
live_is() {
  local found
  found=$(live "$1" get "$3" -o "jsonpath=$4" 2>&1) || fail "live: $1: no $3 in $(namespace_of "$1") on $(context_of "$1"): $found"
  expect "live: $1 $3 $2" "$found" "$5"
}

# ready SPACE DEPLOYMENT N: the cluster has N ready replicas of it (given a minute to get there).
ready() {
  local found='' try
  for ((try = 0; try < 60; try++)); do
    found=$(live "$1" get "deployment/$2" -o 'jsonpath={.status.readyReplicas}' 2>&1) ||
      fail "live: $1: no deployment/$2 in $(namespace_of "$1") on $(context_of "$1"): $found"
    if [[ $found == "$3" ]]; then
      break
    fi
    sleep 1
  done
  expect "live: $1 deployment/$2 ready replicas" "$found" "$3"
}

# live_env SPACE DEPLOYMENT NAME WANTED
live_env() {
  live_is "$1" "env $3" "deployment/$2" "{.spec.template.spec.containers[0].env[?(@.name==\"$3\")].value}" "$4"
}

live_image() {
  live_is "$1" image "deployment/$2" '{.spec.template.spec.containers[0].image}' "$3"
}

# --- the end of a stage script -----------------------------------------------------------------

# next_stage N NEXT-SCRIPT: how to check this stage, and what comes next.
next_stage() {
  say "stage $1 done"
  note "check it:  ./validate $1"
  if [[ -n ${2:-} ]]; then
    note "next:      ./stages/$2"
  fi
}
