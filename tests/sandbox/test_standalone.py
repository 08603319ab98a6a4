"""The sandbox is a service of its own: the standard library only (no dependency to install, nothing of the
portal; import-linter checks the portal side both ways, this checks third-party packages, which it ignores)."""

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"


def test_the_sandbox_imports_the_standard_library_only():
    foreign = set()
    for path in SANDBOX.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            foreign |= {f"{path.name}: {name}" for name in names if name.split(".")[0] not in sys.stdlib_module_names}
    assert not foreign
