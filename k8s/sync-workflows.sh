#!/bin/sh
# k8s/sync-workflows.sh: copies workflows/*.yaml into k8s/base/app/workflows/
# and rewrites the configMapGenerator file list in k8s/base/app/kustomization.yaml
# between its "# workflows:begin" and "# workflows:end" lines.
# kustomize (as kubectl 1.20 bundles it) refuses files outside the
# kustomization folder and has no globs, hence the copy and the list.
# tests/integration/k8s_manifests.sh fails when the copies are stale.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../workflows"
dst="$here/base/app/workflows"
kust="$here/base/app/kustomization.yaml"

rm -f "$dst"/*.yaml
list=$(mktemp)
trap 'rm -f "$list" "$kust.new"' EXIT
for f in "$src"/*.yaml; do
	n=$(basename "$f")
	cp "$f" "$dst/$n"
	printf '      - workflows/%s\n' "$n" >> "$list"
done
awk -v list="$list" '
	/# workflows:end/ { while ((getline l < list) > 0) print l; skip = 0 }
	!skip { print }
	/# workflows:begin/ { skip = 1 }
' "$kust" > "$kust.new"
mv "$kust.new" "$kust"
