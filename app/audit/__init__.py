"""安全审计: the append-only, hash-chained audit log, its page for the 审计员 and its CLI."""
