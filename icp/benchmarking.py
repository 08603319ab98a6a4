"""Helpers shared by the benchmark commands (bench_tree, bench_dispatch)."""


class QueryCounter:
    """A `connection.execute_wrapper` that counts every SQL statement.

    Unlike CaptureQueriesContext it keeps no log, so it stays exact past Django's 9,000-query cap.
    """

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)
