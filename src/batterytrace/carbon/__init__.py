"""Product carbon footprint: emission factors, activity data, roll-up, targets, PACT exchange."""
