"""Developer tooling, never deployed: the local stack on moto and the helpdesk CLI."""
