"""Genealogy: backward and forward trace through transformations, aggregations and associations."""
