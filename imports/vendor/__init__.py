"""The vendor outbox: orders the vendor provisions (imports.models.VendorOrder), placed through its
connector outside any transaction and finished in short transactions of their own (send.py); the
kind's policy (outbox.py); the waiting announcement (waiting.py); open vendor orders counted as held
by the due-time checks (held.py)."""
