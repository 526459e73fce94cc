"""Adapters: one module per AWS service. Only this package imports boto3."""
