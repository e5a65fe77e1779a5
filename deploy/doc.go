// Package deploy holds the checks of the deployment files users run (compose/, contrib/systemd): the
// compose files resolve with the documented .env, the agent flags cannot drift from the ones the test bed
// runs, and the systemd unit verifies. They need no test bed, no root and no Docker engine (only
// `docker compose` v2, the pinned build of scripts/build-compose.sh when cached, and systemd-analyze;
// skipped when missing); the plugin image run as the compose service on a real node is e2e's
// TestPluginAsContainer.
package deploy
