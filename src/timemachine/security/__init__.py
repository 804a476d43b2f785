"""Security: the credential vault (and, beside it, authentication, roles and the audit log)."""
