"""Helpers shared by a chapter's tests and its service's tests."""
