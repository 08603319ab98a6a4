"""`manage.py api_token create EMAIL --name NAME`: a personal API token for a user, printed once
(operators: a token for a script without going through the user page). Also `list EMAIL` and
`revoke TOKEN_ID`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.users.api_tokens import api_token_create, api_token_revoke, api_tokens_of
from accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens (Authorization: Bearer <token> on /api/v1/)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (it is not shown again).")
        create.add_argument("email")
        create.add_argument("--name", required=True)
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("email")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def _user(self, email: str) -> User:
        try:
            return User.objects.get_by_natural_key(email)
        except User.DoesNotExist:
            raise CommandError(f"No user with the email {email}.") from None

    def handle(self, *args, action, **options):
        if action == "create":
            user = self._user(options["email"])
            try:
                # The operator acts as the user: the command is run by whoever runs the server.
                _token, raw = api_token_create(actor=user, user=user, name=options["name"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(raw)
        elif action == "list":
            for token in api_tokens_of(self._user(options["email"])):
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                self.stdout.write(f"{token.pk}\t{token.prefix}…\t{token.name}\t{state}")
        else:
            token = ApiToken.objects.select_related("user").filter(pk=options["token_id"]).first()
            if token is None:
                raise CommandError(f"No token with the id {options['token_id']}.")
            try:
                api_token_revoke(actor=token.user, token_id=token.pk)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"Revoked token {token.pk} ({token.name}).")
