"""The vendor outbox: orders the vendor provisions (imports.models.VendorOrder), placed through its
connector outside any transaction and finished in short transactions of their own. The sender's rooms,
each importing only those to its right: send.py (the entry points and the delivery) → place.py (one try's
calls) → recorder.py (a chunk's database work) → finish.py (finishing and the backoff) → outcomes.py
(what a try comes to, the stored reasons) and updates.py (the one-statement UPDATE). Beside them: the
kind's policy (outbox.py); how fast it goes (pacing.py); the waiting announcement (waiting.py); open
vendor orders counted as held by the due-time checks (held.py)."""
