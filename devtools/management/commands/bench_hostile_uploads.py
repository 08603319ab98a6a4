"""Benchmark of the hostile upload files of issue 23 against a normal 5,000-line file, in one run.

Each file is built in memory (devtools.hostile_files) and read by imports.bulk.files.read_table
in a child process of its own, so its peak memory (maxrss, less the child's before reading) is
its own. Printed per file: its size, the answer (accepted / the message), CPU seconds
(time.process_time) and the memory peak. The goal: every hostile file under 1 s and 100 MB.

    python manage.py bench_hostile_uploads
"""

import json
import multiprocessing
import resource
import time

from django.core.management.base import BaseCommand

from devtools import hostile_files
from imports.bulk.files import FileProblem, read_table

CASES = {
    "dimension bomb (1 line)": lambda: hostile_files.dimension_bomb(1),
    "dimension bomb (5,000 lines)": lambda: hostile_files.dimension_bomb(5000),
    "zip bomb (300 MB of sheet XML)": lambda: hostile_files.zip_bomb(),
    "one 150 MB cell": lambda: hostile_files.huge_cell(),
    "normal .xlsx, 5,000 lines (reference)": lambda: hostile_files.normal_xlsx(5000),
    "normal CSV, 5,000 lines (reference)": lambda: hostile_files.normal_csv(5000),
}


def _measure(name: str, queue) -> None:
    content = CASES[name]()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    try:
        answer = f"accepted, {len(read_table(content).lines):,} lines"
    except FileProblem as problem:
        answer = " ".join(problem.messages)
    cpu = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KB on Linux
    queue.put({"bytes": len(content), "answer": answer, "cpu": cpu, "mb": peak / 1024})


class Command(BaseCommand):
    help = "Read each hostile upload of issue 23 and a normal 5,000-line file: answer, CPU seconds, peak memory."

    def handle(self, *args, **options):
        context = multiprocessing.get_context("fork")
        over = []
        for name in CASES:
            queue = context.Queue()
            child = context.Process(target=_measure, args=(name, queue))
            child.start()
            result = queue.get()
            child.join()
            hostile = "reference" not in name
            if hostile and (result["cpu"] >= 1 or result["mb"] >= 100):
                over.append(name)
            self.stdout.write(
                f"{name:40} {result['bytes']:>10,} B  {result['cpu']:6.3f} s CPU  {result['mb']:7.1f} MB  {result['answer']}"
            )
        self.stdout.write(json.dumps({"hostile_over_1s_or_100MB": over}))
