import json

from django.core.management.base import BaseCommand

from imports.engine.health import (
    DEFAULT_OVERDUE_SECONDS,
    DEFAULT_STALE_TICK_SECONDS,
    DEFAULT_UNSENT_SECONDS,
    imports_health,
)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


class Command(BaseCommand):
    help = (
        "Print the health of the import engine (pending, due, overdue and stuck jobs, unsent emails, the last "
        "dispatch tick that completed and the last failure, the engine workers and their clock offsets, cluster "
        "heartbeats, jobs waiting for the vendor and the vendor's error rate). Exits 1 with one line on stderr when something is late or stuck, or a worker's clock is off."
    )

    def add_arguments(self, parser):
        parser.add_argument("--overdue-seconds", type=int, default=DEFAULT_OVERDUE_SECONDS,
                            help="a pending job this late is a problem (default %(default)s)")
        parser.add_argument("--stale-tick-seconds", type=int, default=DEFAULT_STALE_TICK_SECONDS,
                            help="a last dispatch tick this old is a problem (default %(default)s)")
        parser.add_argument("--unsent-seconds", type=int, default=DEFAULT_UNSENT_SECONDS,
                            help="an email unsent this long after its job finished is a problem (default %(default)s)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args, **options):
        health = imports_health(
            overdue_seconds=options["overdue_seconds"],
            stale_tick_seconds=options["stale_tick_seconds"],
            unsent_seconds=options["unsent_seconds"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(health.as_dict(), indent=2))
        else:
            self.stdout.write(self._text(health))
        problems = health.problems()
        if problems:
            self.stderr.write("unhealthy: " + "; ".join(str(p) for p in problems))
            raise SystemExit(1)

    @staticmethod
    def _text(health) -> str:
        oldest = f" (oldest due {health.oldest_overdue_seconds}s ago)" if health.oldest_overdue_seconds is not None else ""
        tick = _when(health.last_tick) + (f" ({health.last_tick_age_seconds}s ago)" if health.last_tick else "")
        if not health.dispatch_schedule_exists:
            tick += " (schedule missing: run migrate)"
        rows = [
            ("pending jobs", health.pending),
            ("due now", health.due_now),
            (f"overdue (> {health.overdue_seconds}s)", f"{health.overdue}{oldest}"),
            ("in progress past lease", health.in_progress_past_lease),
            ("unsent notifications",
             f"{health.unsent_notifications} ({health.unsent_notifications_old} older than {health.unsent_seconds}s)"),
            ("last dispatch tick", tick),
        ]
        failure = health.last_failure
        rows.append((
            "last dispatch failure",
            f"{_when(failure.at)} ({health.last_failure_age_seconds}s ago) {failure.source}: {failure.reason}"
            if failure else "none",
        ))
        rows.append(("engine workers", f"{len(health.workers)} seen in the last {health.worker_seen_seconds}s"))
        off = {w.name for w in health.workers_off_clock}
        rows += [
            (
                f"  {w.name}",
                f"{w.role}, clock {w.clock_offset_seconds:+.3f}s"
                + (f" (more than {health.clock_offset_warn_seconds:g}s off)" if w.name in off else "")
                + f", seen {_when(w.last_seen)}, last round {_when(w.last_round)}",
            )
            for w in health.workers
        ]
        oldest_waiting = (
            f" (oldest due {_when(health.vendor_waiting_oldest_due)}, {health.vendor_waiting_oldest_due_seconds}s ago)"
            if health.vendor_waiting_oldest_due else ""
        )
        rows.append(("waiting for the vendor", f"{health.vendor_waiting}{oldest_waiting}"))
        rows.append(("vendor next try", _when(health.vendor_next_try) if health.vendor_next_try else "none"))
        rate = health.vendor_error_rate
        rows.append((
            f"vendor errors (last {health.vendor_window_seconds}s)",
            f"{rate:.1%} ({health.vendor_calls_failed} of {health.vendor_calls} calls not done)" if rate is not None
            else "no calls",
        ))
        rows.append(("vendor circuit", "; ".join(
            f"{d.integration} down since {_when(d.since)}, next probe {_when(d.next_probe) if d.next_probe else 'now'}"
            f" ({d.failed_probes} failed)" for d in health.vendor_down
        ) or "closed (the vendors answer)"))
        if health.clusters is None:
            rows.append(("cluster heartbeats", "unknown (not visible from this process)"))
        elif not health.clusters:
            rows.append(("cluster heartbeats", "none running"))
        else:
            rows.append(("cluster heartbeats", len(health.clusters)))
            rows += [(f"  {c.cluster_id}", f"{c.host} {c.status}, {_when(c.last_heartbeat)}") for c in health.clusters]
        return "\n".join(f"{label + ':':<28}{value}" for label, value in rows)
