package matrix

// The versions of the matrix. The current pair (DockerCurrent with CiliumCurrent) is the bed's
// default, the demo's and the compose stack's; the other engine and agent make the other legs.
const (
	// DockerCurrent is the current Docker engine, built with its containerd and runc from their
	// sources (scripts/build-docker.sh has its recipe).
	DockerCurrent = "29.8.1"
	// DockerDebian is Debian 12's docker.io (20.10.24, API 1.41): installed, not built. Its docker CLI
	// drives every engine of the bed.
	DockerDebian = "20.10"

	// CiliumCurrent is the current cilium-agent, built from its sources (scripts/build-cilium.sh).
	CiliumCurrent = "1.20.2"
	// CiliumPrevious is the agent of the previous minor release, which still has the endpoint IDs
	// that 1.20 removed.
	CiliumPrevious = "1.19.7"

	// UpgradeTo is the agent the upgrade tests (Test.Upgrade) go to in place, from their leg's agent.
	UpgradeTo = CiliumCurrent

	// Etcd is the bed's and the compose stack's etcd: the version go.mod pins for
	// go.etcd.io/etcd/server/v3, built from that module (scripts/build-etcd.sh reads go.mod; this
	// package's test holds the two equal).
	Etcd = "3.6.16"

	// Compose is docker compose (v2), built from its Go module (scripts/build-compose.sh).
	Compose = "v5.6.0"
)

// Engines are the Docker engines of the matrix, the current one first.
func Engines() []string { return []string{DockerCurrent, DockerDebian} }

// Agents are the cilium-agents of the matrix, the previous one first (the order the stand-in images
// are built in, scripts/build-images.sh).
func Agents() []string { return []string{CiliumPrevious, CiliumCurrent} }
