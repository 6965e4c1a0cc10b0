"""The durable event log (outbox): what happened, recorded with the change itself."""
