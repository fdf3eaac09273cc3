"""The deployable AI service: the ASGI app (`app`), how it is served (`server`), what every
request passes through (`access` log, body `limits`, `cors`, `auth`, the shared `errors`),
what routes depend on (`deps`), and the one begin → provider → finish `flow` of all apps."""
