"""Chain of custody (ISO 22095): claims on material, the model each site runs per claim, and
the mass-balance credit ledger."""
