"""Reproducible demo data at scale: ``backroom seed`` (see docs/bulk.md)."""
