"""Database access: the PostgREST-faithful caller (`rpc`, over libpq's pipeline in `wire`)
and the service's two transports behind one interface (`transports`)."""
