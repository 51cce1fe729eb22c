"""EPCIS 2.0: document model, JSON-LD and XML syntaxes, rules and the CBV 2.0 event hash."""
