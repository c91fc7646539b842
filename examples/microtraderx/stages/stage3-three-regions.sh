#!/usr/bin/env bash
# Stage 3: three regions. trade-service joins the base; production gets EU and Asia beside the
# US; each region runs as many trade-service replicas as its trading volume needs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

banner 3 "Three regions" \
  "trade-service: US 3 replicas (NYSE hours), EU 5 (the busiest desk), Asia 2 (overnight)." \
  "Each count is a local edit of its region: later upgrades of the base keep it."
"$MTX_HOME/setup-structure" 3
"$MTX_HOME/deploy" 3
say "look back"
show gitops tree --space '*' --unit trade-service
next_stage 3 stage4-push-upgrade.sh
