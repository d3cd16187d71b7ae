"""Production safety rules for the OpenAlgo CockroachDB stacks, as a Pulumi policy pack.

The rule modules are pure (resource type and properties in, violation messages out) so tests
call them directly; ``policy.pack`` wires them into Pulumi's policy SDK.
"""
