#!/usr/bin/env bash
# terraform: static checks of terraform/ (parse with @cdktf/hcl2json,
# pinning, lake bucket hardening, IAM wildcards, Redshift placement, ECR,
# IRSA, state backend, module wiring).  Runs tests/terraform/*.test.mjs
# with node's TAP reporter and passes the TAP through; terraform itself is
# not needed (terraform fmt -check runs only if it is on PATH).
set -u
cd "${STA_SRCDIR:-$(dirname "$0")/../..}" || exit 1

if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node is not installed"
	exit 0
fi
if [ ! -d node_modules/@cdktf/hcl2json ]; then
	echo "1..0 # SKIP node_modules/@cdktf/hcl2json missing (npm ci)"
	exit 0
fi

exec node --test --test-reporter=tap tests/terraform/*.test.mjs
