from django.dispatch import receiver

from orders.signals import order_submitted


@receiver(order_submitted, dispatch_uid="imports.create_job_for_order")
def create_job_for_submitted_order(sender, *, order, due_at, user, **kwargs):
    from .services import import_job_create_for_order

    import_job_create_for_order(order=order, due_at=due_at, user=user)
