#!/usr/bin/env bash
# pip-audit against both lock files (every pinned package, transitive ones too).
# A vulnerability found fails. When no vulnerability database answers — pip-audit's PyPI
# service and OSV both need the internet beyond the package index — pip-audit itself still
# exits 0, listing every package as "could not be audited"; this script says so loudly
# instead of letting that pass for a clean audit, and does not fail the build for it.
set -uo pipefail
cd "$(dirname "$0")/.."
audit=.venv/bin/pip-audit
[ -x "$audit" ] || { echo "audit-deps: $audit missing (make .venv/.installed)" >&2; exit 1; }
# The machine's CA bundle (pip's is configured; requests would use its own otherwise).
if [ -z "${REQUESTS_CA_BUNDLE:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
fi
report="$(mktemp)"
trap 'rm -f "$report"' EXIT

verdict() {  # lock file, service → prints one line, returns 0 clean, 1 vulnerable, 2 not audited
  timeout 300 "$audit" --disable-pip --no-deps --progress-spinner off -f json -s "$2" \
    -r "$1" >"$report" 2>/dev/null
  .venv/bin/python scripts/audit_verdict.py "$1" "$2" "$report"
}

status=0
for lock in requirements.lock requirements-dev.lock; do
  done_one=0
  for service in pypi osv; do
    verdict "$lock" "$service"
    case $? in
      0) done_one=1; break ;;
      1) done_one=1; status=1; break ;;
    esac
  done
  if [ "$done_one" = 0 ]; then
    echo "audit-deps: ******************************************************************"
    echo "audit-deps: AUDIT COULD NOT RUN for $lock: no vulnerability database is reachable"
    echo "audit-deps: from this machine. Its dependencies are NOT checked for known"
    echo "audit-deps: vulnerabilities (run 'make audit' where the internet is reachable)."
    echo "audit-deps: ******************************************************************"
  fi
done
exit "$status"
