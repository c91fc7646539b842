#!/usr/bin/env bash
# Stage 8: blue-green. A green clone of trade-service beside the blue one in the US; the Ingress
# switched to green with one patch, and switched back with a rollback.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 8 "Blue-green" \
  "trade-service-green is a linked clone of the base's trade-service: its own Deployment," \
  "selecting its own pods. The Ingress sends traffic to one Service; the switch is one field."
"$MTX_HOME/setup-structure" 8
"$MTX_HOME/deploy" 8
context=$(context_of traderx-prod-us)
namespace=$(namespace_of traderx-prod-us)
say "switch to green"
show gitops unit update ingress --space traderx-prod-us \
  --patch '{"spec":{"defaultBackend":{"service":{"name":"trade-service-green"}}}}' --reason "stage 8: switch to green"
show gitops apply --space traderx-prod-us --dry-run
show gitops apply --space traderx-prod-us
show kubectl --context "$context" --namespace "$namespace" get ingress traderx-ingress \
  -o 'jsonpath={.spec.defaultBackend.service.name}{"\n"}'
say "switch back"
show gitops rollback ingress --space traderx-prod-us --revision -1 --reason "stage 8: back to blue"
show gitops apply --space traderx-prod-us
show kubectl --context "$context" --namespace "$namespace" get ingress traderx-ingress \
  -o 'jsonpath={.spec.defaultBackend.service.name}{"\n"}'
say "look back"
show gitops history ingress --space traderx-prod-us
next_stage 8
