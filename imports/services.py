def import_job_create_for_order(*, order, due_at, user):
    raise NotImplementedError
