#!/bin/sh
# The man pages are clean under mandoc's linter at warning level (style
# notes, such as a cross-reference to a page not installed on this
# machine, are not failures).
set -eu
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc not installed"; exit 77; }
dir=$(cd "$(dirname "$0")" && pwd)
mandoc -T lint -W warning "$dir"/*.[0-9]
echo "PASS: $(ls "$dir"/*.[0-9] | wc -l) pages"
