"""What other rooms plug into the engine, so that the engine imports none of them.

- Line runners: how the runner (imports.engine.runner) runs a line that is not a product order. Bulk
  imports (imports.bulk.rows) register their company and user lines here when the app loads
  (imports.apps); a line of a type nobody registered fails with a message, never silently.
- Housekeeping: work the every-minute pass (imports.engine.dispatch.dispatch_housekeeping) does
  besides lease recovery, e.g. forgetting bulk uploads left waiting for a confirmation.
"""

import datetime as dt
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

# A line runner: runs `row` for `actor` inside the batch's transaction and leaves the row
# Completed (with its account id) or Failed (with why). `price_lists` is shared by a batch's rows.
LineRunner = Callable[..., None]
Housekeeping = Callable[..., object]

LINE_TYPE_UNKNOWN = _("This line's type (%(type)s) cannot be run by this server.")

_line_runners: dict[str, LineRunner] = {}
_housekeeping: dict[str, Housekeeping] = {}


def line_runner_register(import_type: str, runner: LineRunner) -> None:
    """Run lines of `import_type` with `runner` (one per type; registering again replaces it)."""
    _line_runners[import_type] = runner


def line_runner_for(import_type: str) -> LineRunner | None:
    return _line_runners.get(import_type)


def housekeeping_register(name: str, task: Housekeeping) -> None:
    """Call `task(now=...)` on every housekeeping pass (by name, so registering twice is harmless)."""
    _housekeeping[name] = task


def housekeeping_run(*, now: dt.datetime) -> None:
    for task in _housekeeping.values():
        task(now=now)
