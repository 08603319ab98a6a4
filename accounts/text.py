"""Search text that forgives accents and case, the same on SQLite and PostgreSQL.

Neither database folds accents portably (PostgreSQL's unaccent is an extension, SQLite has nothing),
so the folding is done here, once: on the stored side into Company.search_name (kept by
Company.save), on the query side by search_folded(query), and the database compares plain strings.
"""

import re
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


# Bidirectional formatting characters (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM): in a
# name they reorder what is shown around it ("Trojan Source"), e.g. a company that reads as another.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def without_bidi_controls(text: str) -> str:
    """`text` without bidirectional formatting characters (names of companies and users)."""
    return BIDI_CONTROLS.sub("", text) if text else text
