"""What a user keeps on My imports from one visit (and device) to the next: rows per page, stored
server-side (imports.models.MyImportsPreference), read and written here only."""

from accounts.models import User

from imports.models import MyImportsPreference
from imports.my_imports.listing import DEFAULT_PAGE_SIZE, PAGE_SIZES


def per_page_for(user: User) -> int:
    """The user's rows per page (one indexed read), or the manual's 10."""
    chosen = MyImportsPreference.objects.filter(user=user).values_list("per_page", flat=True).first()
    return chosen if chosen in PAGE_SIZES else DEFAULT_PAGE_SIZE


def per_page_remember(*, user: User, per_page: int) -> None:
    """Keep `per_page` (one of PAGE_SIZES) as the user's rows per page."""
    if per_page not in PAGE_SIZES:
        raise ValueError(f"Rows per page must be one of {PAGE_SIZES}, not {per_page!r}.")
    MyImportsPreference.objects.update_or_create(user=user, defaults={"per_page": per_page})
