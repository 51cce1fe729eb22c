"""Offtake agreements: volumes committed, deliveries recorded by events, element contained and
the battery capacity it enables."""
