"""Generated stubs in libs/contracts must match proto/ (run `make proto` after editing a .proto)."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "libs" / "contracts" / "src"


def _files(base: Path) -> set[str]:
    return {
        str(p.relative_to(base))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in {".py", ".pyi"}
    }


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True, cwd=ROOT,
                   capture_output=True)  # fmt: skip
    fresh, committed = _files(tmp_path), _files(COMMITTED)
    assert fresh == committed, "stub files differ: run `make proto`"
    stale = [
        f for f in sorted(fresh) if not filecmp.cmp(tmp_path / f, COMMITTED / f, shallow=False)
    ]
    assert not stale, f"stale generated stubs (run `make proto`): {stale}"


def test_every_proto_has_stubs() -> None:
    protos = {
        p.relative_to(ROOT / "proto").with_suffix("") for p in (ROOT / "proto").rglob("*.proto")
    }
    for proto in protos:
        assert (COMMITTED / f"{proto}_pb2.py").exists(), proto
