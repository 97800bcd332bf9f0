"""Request handlers, one module per DHIS2 API area."""
