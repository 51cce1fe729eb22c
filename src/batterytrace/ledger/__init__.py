"""The tamper-evident ledger: a hash chain over stored events and Ed25519-signed checkpoints."""
