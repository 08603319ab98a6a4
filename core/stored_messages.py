"""Messages written now and read later, by someone else, in another language: stored as a message id
and its parameters, rendered in the reader's language.

Failure reasons (ImportRow.error), audit-log entries (AuditLogEntry.message) and what the user page's
logs show are written at run time (by a worker, in English) and read later by a reseller who may work
in Spanish, or mailed to a recipient in its own language. So they are not stored as translated text:

    stored(PARENT_ACCOUNT_INACTIVE, company="ERITECH PERU S.A.", status=Company.Status.SUSPENDED.label)
    → 'i18n:{"m":"The parent account %(company)s is not active (status: %(status)s).","p":{...}}'

and every place that shows one calls rendered(text), which translates it in the active language
(the request's on pages and in the API, the recipient's in emails: translation.override). Text that
is not in this form (rows written before it, a reason from elsewhere) is shown as it is.

- The form is one line: MARKER then compact JSON {"m": msgid, "c": context (pgettext), "p": params}.
  JSON escapes newlines, so several reasons joined with "\\n" (a row's error) stay one per line and
  rendered() renders each line on its own.
- A parameter may be a plain value (str, number, None; other values are stored as str(), as "%s"
  would show them), a translatable message (gettext_lazy: its msgid is stored, and it is translated
  when shown, e.g. a status label), a stored message (nested), or a list of those (shown joined with
  "; ").
- rendered() never raises: a line that looks like the form but cannot be read or formatted is
  shown as it is (or as the untranslated message), never a 500.
"""

import json
import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

MARKER = "i18n:"
LIST_SEPARATOR = "; "


def _lazy_parts(message: Promise) -> tuple[str, str | None]:
    """(msgid, context) of a gettext_lazy / pgettext_lazy message."""
    func, args, kwargs = message.__reduce__()[1][:3]
    name = getattr(func, "__name__", "")
    if name in ("gettext", "gettext_noop") and len(args) == 1 and not kwargs:
        return str(args[0]), None
    if name == "pgettext" and len(args) == 2 and not kwargs:
        return str(args[1]), str(args[0])
    raise TypeError(f"Only gettext_lazy and pgettext_lazy messages can be stored, not {name}().")


def _decode(text: str):
    """The JSON object of a stored line, or None when `text` is not one."""
    if not text.startswith(MARKER):
        return None
    try:
        data = json.loads(text[len(MARKER):])
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("m"), str) else None


def _message(message) -> dict:
    if isinstance(message, Promise):
        msgid, context = _lazy_parts(message)
        data = {"m": msgid}
        if context is not None:
            data["c"] = context
        return data
    if isinstance(message, str):
        return _decode(message) or {"m": message}
    raise TypeError(f"A stored message is a gettext_lazy message or a str, not {type(message).__name__}.")


def _param(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Promise):
        return _message(value)
    if isinstance(value, str):
        return _decode(value) or value
    if isinstance(value, (list, tuple)):
        return [_param(item) for item in value]
    return str(value)


def stored(message, /, **params) -> str:
    """`message` (a gettext_lazy constant, not yet translated) and its %-parameters, as the one-line
    text to store. A plain str message is stored as a msgid too (it renders as itself unless the
    catalogue translates it); a str that is already stored is returned as it is."""
    data = _message(message)
    if params:
        data = {**data, "p": {name: _param(value) for name, value in params.items()}}
    return MARKER + json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def is_stored(text) -> bool:
    return isinstance(text, str) and _decode(text) is not None


def _render_value(value):
    if isinstance(value, Mapping):
        return _render(value)
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(_render_value(item)) for item in value)
    return value


def _render(data: Mapping) -> str:
    msgid, context = data.get("m"), data.get("c")
    if not isinstance(msgid, str):
        raise ValueError("not a stored message")
    translated = pgettext(str(context), msgid) if context is not None else gettext(msgid)
    params = data.get("p")
    if params is None:
        return translated
    if not isinstance(params, Mapping):
        raise ValueError("stored parameters must be an object")
    values = {name: _render_value(value) for name, value in params.items()}
    try:
        return translated % values
    except (KeyError, ValueError, TypeError):
        # A translation whose placeholders do not match (a catalogue mistake): the message as written.
        return msgid % values


def _render_line(line: str) -> str:
    data = _decode(line)
    if data is None:
        return line
    try:
        return _render(data)
    except Exception:  # noqa: BLE001 - a stored line that cannot be shown is shown as it is, never a 500
        return line


def rendered(text) -> str:
    """`text` as its reader should see it, in the active language: each stored line translated with its
    parameters, any other line (legacy English rows, foreign text) unchanged."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if MARKER not in text:
        return text
    return "\n".join(_render_line(line) for line in text.split("\n"))



def stored_errors(exc: ValidationError) -> list[str]:
    """The messages of a ValidationError (a model's full_clean, a service's refusal) as stored text,
    one each, in the order of exc.messages: their own translation (Django's or ours) and parameters
    are kept, so they too are shown in the reader's language."""
    errors = [error for errors in exc.error_dict.values() for error in errors] if hasattr(exc, "error_dict") else exc.error_list
    return [stored(error.message, **(error.params or {})) for error in errors]


# --- Text written before messages were stored: mapped back to its message, where it matches one ----


def _pattern(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


class TextMapper:
    """Turns English text written by an earlier version into stored form, for the data migrations:
    a line that matches one of `msgids` exactly (its %(name)s parts taking any text) becomes that
    message with those parameters; `nested` maps a parameter name to the msgids (or a TextMapper) its
    value may hold, joined by "; " (an audit entry's reasons). Anything else is left as it is (None)."""

    def __init__(self, msgids, *, nested: dict | None = None):
        self.patterns = [(msgid, _pattern(msgid)) for msgid in msgids]
        self.nested = {
            name: ids if isinstance(ids, TextMapper) else TextMapper(ids) for name, ids in (nested or {}).items()
        }

    def line(self, text: str) -> str | None:
        if not text or text.startswith(MARKER):
            return None
        for msgid, pattern in self.patterns:
            match = pattern.match(text)
            if match:
                params = match.groupdict()
                for name, mapper in self.nested.items():
                    if name in params:
                        params[name] = mapper.pieces(params[name])
                return stored(msgid, **params)
        return None

    def pieces(self, text: str):
        """"a; b; c" → [stored or text, ...]: the shortest run of parts that matches a message, so a
        reason that holds "; " itself is found whole, and a placeholder does not swallow the next reason."""
        parts, items, start = text.split(LIST_SEPARATOR), [], 0
        while start < len(parts):
            for end in range(start + 1, len(parts) + 1):
                found = self.line(LIST_SEPARATOR.join(parts[start:end]))
                if found:
                    items.append(found)
                    start = end
                    break
            else:
                items.append(parts[start])
                start += 1
        if not any(is_stored(item) for item in items):
            return text
        return items[0] if len(items) == 1 else items

    def text(self, text: str) -> str | None:
        """The stored form of a (multi-line) text when at least one line matched, else None."""
        if not text or MARKER in text:
            return None
        lines = [self.line(line) for line in text.split("\n")]
        if not any(lines):
            return None
        return "\n".join(found or line for found, line in zip(lines, text.split("\n")))
