"""Helpdesk domain: tickets, triage, business calendars and SLA clocks, routing, mail.

Plain Python with no boto3: AWS lives in the adapter modules under ``helpdesk.aws``.
"""
