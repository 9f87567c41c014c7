#!/usr/bin/env bash
# Generates typed Python stubs from proto/ into libs/contracts/src (committed; a test checks staleness).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-libs/contracts/src}
mkdir -p "$out"
find "$out/hongyun" -name '*_pb2*' -delete 2>/dev/null || true
mapfile -t protos < <(cd proto && find hongyun -name '*.proto' | sort)
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m grpc_tools.protoc -I proto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  "${protos[@]}"
# Generated code uses absolute imports: every directory on the proto path is a package.
find "$out/hongyun" -type d -exec sh -c 'test -f "$1/__init__.py" || : > "$1/__init__.py"' _ {} \;
