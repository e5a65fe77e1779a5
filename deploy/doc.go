// Package deploy holds the checks of the deployment files users run (compose/, contrib/systemd): the
// compose files resolve with the documented .env, the agent flags cannot drift from the ones the test bed
// runs, and the systemd unit verifies. They need no test bed, no root and no Docker engine: the compose
// files are resolved in-process by compose's own loader (compose-go, the version compose v5.6.0 links), so
// those checks never skip; only systemd-analyze's is skipped when it is missing. The plugin image run as
// the compose service on a real node is e2e's TestComposeStack.
package deploy
