from django.dispatch import Signal

#: Sent with `run` once a run has reached a final status (succeeded, warning, failed, cancelled).
run_finished = Signal()
