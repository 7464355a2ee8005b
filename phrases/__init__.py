"""Phrase library, ranking and compliance filter (see the project's open issues)."""
