"""Approval requests collected from the callback queues (built by the approvals issue)."""
