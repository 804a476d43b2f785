"""Conformance suites: run third-party test fixtures on our engine and compare field by field."""
