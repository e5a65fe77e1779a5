package pki

// The files of a PKI directory (Dir): the CA at its top, one subdirectory per node (named after the
// node) holding what that node's etcd, cilium-agent and plugin read. The compose files mount a node's
// subdirectory read-only at MountDir in those three services.
const (
	CACert = "ca.crt" // the CA's certificate; each node's directory has a copy
	CAKey  = "ca.key" // the CA's key: only in the top directory, never in a node's

	EtcdServer = "etcd-server"          // etcd's certificate (.crt, .key): server and peer
	Agent      = "cilium-agent"         // cilium-agent's client certificate (.crt, .key)
	Plugin     = "cilium-docker"        // the plugin's (its policy sync's) client certificate
	Policy     = "cilium-docker-policy" // the policy commands' client certificate

	// AgentEtcdConfig is cilium-agent's etcd client configuration (--kvstore-opt etcd.config=FILE),
	// naming the files at MountDir.
	AgentEtcdConfig = "etcd-config.yaml"

	// MountDir is where the services find a node's directory (read-only); the agent's etcd.config
	// names its files there.
	MountDir = "/etc/cilium-docker/etcd"

	// DefaultDir is the PKI directory on the host when none is given.
	DefaultDir = "/etc/cilium-docker/pki"

	// EtcdClientPort is etcd's client port, of the agent's default endpoint.
	EtcdClientPort = 2379
)

// File modes: keys for their owner only, certificates and the agent's configuration (paths, no
// secret) readable, directories for their owner only.
const (
	keyMode  = 0o600
	certMode = 0o644
	dirMode  = 0o700
)

const (
	certSuffix = ".crt"
	keySuffix  = ".key"
)
