"""Which language a user's emails are written in: the user's own choice (NOTIFICATIONS tab), else
its company's Language (ACCOUNT INFORMATION, free text such as "English" or "Spanish"), else English."""

from accounts.models import Company, User

DEFAULT_LANGUAGE = "en"
# What the company page's Language field may say, lower-cased → the language code we send in.
_COMPANY_LANGUAGES = {"english": "en", "en": "en", "inglés": "en", "ingles": "en",
                      "spanish": "es", "es": "es", "español": "es", "espanol": "es"}


def company_language(company: Company | None) -> str | None:
    if company is None:
        return None
    return _COMPANY_LANGUAGES.get((company.language or "").strip().lower())


def user_language(user: User) -> str:
    """"en" or "es"."""
    if user.email_language:
        return user.email_language
    return company_language(user.company if user.company_id else None) or DEFAULT_LANGUAGE
