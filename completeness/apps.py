from django.apps import AppConfig


class CompletenessConfig(AppConfig):
    name = "completeness"
