"""bench_tree runs on its own temporary database and shows the subtree query answered from the path index."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


# The benchmark runs in a child process on a SQLite file of its own whatever DATABASE_URL says.
@pytest.mark.once
def test_bench_tree_prints_figures_and_uses_the_path_index():
    manage_py = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage_py), "bench_tree", "--depth", "5", "--width", "50"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "companies: 82 " in result.stdout  # root + 5 resellers + 25 customers + wide reseller + 50
    assert "wide subtree (wide reseller): 51 visible companies" in result.stdout
    assert "query plan: SEARCH accounts_company USING COVERING INDEX" in result.stdout


def test_bench_tree_refuses_a_flat_tree():
    manage_py = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage_py), "bench_tree", "--depth", "1"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "--depth must be at least 2" in result.stderr
