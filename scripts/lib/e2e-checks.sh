# Checks of the real end-to-end run (scripts/e2e-kind.sh, .github/workflows/e2e.yml), as
# functions so tests can run them against stubs and fixtures (tests/e2e_checks.rs).

# check_second_up KINDLING: runs `up` again. It must succeed, and report no step created or
# changed (idempotence on a real cluster). The exit status and the output are checked apart:
# a pipe into grep inside an `if` would take grep's status and miss a failing `up`.
check_second_up() {
  local kindling=$1 out status=0
  out=$("$kindling" --output json up --yes) || status=$?
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$out" >&2
    echo "the second up failed (exit $status)" >&2
    return 1
  fi
  if printf '%s\n' "$out" | grep -E '"outcome":"(created|changed)"' >&2; then
    echo "a second up changed something (above)" >&2
    return 1
  fi
  echo "the second up changed nothing" >&2
}

# check_multiarch_index FILE: FILE is the raw manifest of the pinned node image
# (`docker buildx imagetools inspect --raw <image@digest>`). Apple silicon pulls the arm64
# image of that same digest, so it must be an image index (or Docker manifest list) naming
# linux/arm64 and linux/amd64.
check_multiarch_index() {
  local file=$1
  if ! jq -e '
      (.mediaType // "" | test("image.index|manifest.list"))
      and ([.manifests[]?.platform | select(.os == "linux" and .architecture == "arm64")] | length > 0)
      and ([.manifests[]?.platform | select(.os == "linux" and .architecture == "amd64")] | length > 0)
    ' "$file" >/dev/null; then
    echo "the node image is not a multi-architecture index with linux/arm64 and linux/amd64:" >&2
    jq -c '{mediaType, platforms: [.manifests[]?.platform]}' "$file" >&2 || cat "$file" >&2
    return 1
  fi
  echo "the node image index has linux/arm64 and linux/amd64" >&2
}
