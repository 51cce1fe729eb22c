"""The demo scenario: the Renault-Managem agreement supply chain as EPCIS documents."""
