"""The e-government monitoring system: it tallies dossiers and audit records into metrics."""
