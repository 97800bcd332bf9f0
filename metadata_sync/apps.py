from django.apps import AppConfig


class MetadataSyncConfig(AppConfig):
    name = "metadata_sync"
