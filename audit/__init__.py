"""The audit log: who created, changed or deleted configuration, and who launched or cancelled
runs. Model changes are django-auditlog's `LogEntry` rows (models registered in `apps.py`);
launches and cancels are `LogEntry` rows of our own (`services.py`)."""
