"""The tamper-evident ledger, built on the store: Ed25519-signed checkpoints over its hash
chains (``store.chain``), recorded imports, keys and verification."""
