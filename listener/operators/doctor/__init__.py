"""`listener doctor`: what an organiser runs before an event to know it can go ahead.

Each module checks one thing the event depends on (the configuration, the flow file, the
store, Twilio, OpenAI, the app's public address) and returns findings in plain words:
what was found and, when something is wrong, what to do about it. Every call to another
service has a deadline, so the doctor answers even when a service does not.
"""

from listener.operators.doctor.findings import Finding, Verdict, exit_status
from listener.operators.doctor.run import run_doctor

__all__ = ["Finding", "Verdict", "exit_status", "run_doctor"]
