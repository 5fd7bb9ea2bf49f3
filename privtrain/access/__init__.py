"""Access layer: authorization, identities and the tamper-evident audit log."""

from privtrain.access.auditlog import AuditLog, AuditVerifyReport

__all__ = ["AuditLog", "AuditVerifyReport"]
