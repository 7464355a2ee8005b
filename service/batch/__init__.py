"""Offline batch scoring of chat logs: readers, scoring, writers, report, engines."""
