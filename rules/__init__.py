"""Pure rules of the deployment: the validated stack config, names, topology, sizes, schedules,
and the scaling and upgrade verdicts. Nothing here declares a resource or opens a connection, so
every rule is tested without mocks."""
