"""Webhooks: admin-managed endpoints, and signed deliveries of the event log to them."""
