"""How every layer reaches CockroachDB: one connect, one redaction, one node-status query.

Components (dynamic providers), the migrator and the day-2 operations import this package;
it imports none of them, so it sits below all three without a cycle.
"""
