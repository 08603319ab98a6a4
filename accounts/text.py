"""Search text that forgives accents and case, the same on SQLite and PostgreSQL.

Neither database folds accents portably (PostgreSQL's unaccent is an extension, SQLite has nothing),
so the folding is done here, once: on the stored side into Company.search_name (kept by
Company.save), on the query side by search_folded(query), and the database compares plain strings.
"""

import unicodedata

# Long enough for a folded 200-character name ("ß" → "ss", "ﬁ" → "fi" make the text longer).
SEARCH_NAME_MAX_LENGTH = 600


def search_folded(text: str, limit: int = SEARCH_NAME_MAX_LENGTH) -> str:
    """`text` without accents, case-folded, with runs of white space as one space, at most `limit`
    characters: "  Eritech   Perú " → "eritech peru", "ÉRITECH" → "eritech", "Straße" → "strasse"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = unicodedata.normalize("NFKC", stripped.casefold())
    return " ".join(folded.split())[:limit]
