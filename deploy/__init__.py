"""Deployment: deploy/cluster.py (make cluster) is importable for the tests."""
