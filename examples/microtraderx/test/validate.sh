#!/usr/bin/env bash
# The original tutorial's name for it: validate N.
exec "$(dirname "${BASH_SOURCE[0]}")/../validate" "$@"
