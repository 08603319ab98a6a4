"""Settings the reliability tests give their workers."""

# Short leases and timeouts, so that a fault and its recovery fit in seconds, within the engine's
# invariants (imports/engine/config.py, errors(): Q_RETRY and the lease above Q_TIMEOUT, a batch's
# retries and a sender's budget well inside it, an idle transaction ended well before the lease).
SHORT = {
    "Q_TIMEOUT": 15,
    "Q_RETRY": 18,
    "IMPORT_LEASE_SECONDS": 20,
    "IMPORT_RECOVERY_SECONDS": 2,
    "EMAIL_TIMEOUT": 5,
    "IMPORT_EMAIL_CLAIM_CHUNK": 2,
    "IMPORT_EMAIL_LEASE_SECONDS": 12,
    "IMPORT_TRANSIENT_RETRY_SECONDS": 6,
    "IMPORT_DB_IDLE_IN_TRANSACTION_SECONDS": 5,
    "IMPORT_DB_LOCK_TIMEOUT_SECONDS": 2,
    "IMPORT_DB_STATEMENT_TIMEOUT_SECONDS": 5,
    "IMPORT_OUTBOX_WORKERS": 1,
    "IMPORT_OUTBOX_BUDGET_SECONDS": 3,
    "WEBHOOK_TIMEOUT": 5,
}
