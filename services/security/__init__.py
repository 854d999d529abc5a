"""Who may do what: SASL identities, the ACL table, per-agency record signing and the audit key."""
