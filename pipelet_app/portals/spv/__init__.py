"""Operator console for the SPVs a tenant sponsors: lifecycle, compliance alerts, returns and audit."""
