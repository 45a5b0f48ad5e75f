#!/usr/bin/env bash
# Regenerates docs/config.md from `fedhpc --help` (run after adding an option).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/fedhpc}"
{
  echo "# Configuration reference"
  echo
  echo "Generated from \`fedhpc --help\` (\`scripts/gen-config-doc.sh\`); a test checks that every option is listed here."
  echo "Set keys in an INI file (\`[section]\` then \`key = value\`, \`#\` comments) and/or on the command line as \`--section.key value\`; the command line wins. Unknown keys and out-of-range values are errors (exit 2) naming the key and the valid range."
  echo
  echo '```'
  "$bin" --help
  echo '```'
} > docs/config.md
