// Package e2erun is the driver of the end-to-end tier (`testbed e2e`, scripts/e2e.sh, make test-e2e):
// the e2e suite once per leg of the test matrix (internal/matrix), each leg on a fresh test bed whose
// nodes run that leg's Docker engine and cilium-agent, and the long address-window test on a bed of
// its own (TESTBED_ID=aw) alongside the legs. It builds what the legs need into the cache through the
// build scripts (scripts/build-cilium.sh, build-etcd.sh, build-compose.sh, build-docker.sh): the first
// leg's in front, the others' and the long test's pair at nice 19 in the background. Each leg's go test
// -v output goes to LOG_DIR/LEG.log and its exit code and seconds to LEG.rc; the summary then checks
// that exactly the leg's tests passed, by name.
//
// Every child runs in a process group of its own, with a deadline, and is stopped with its group when
// the run's context ends (SIGINT, SIGTERM); the beds the run started are torn down
// (scripts/testbed.sh down-all) on every way out. Only cmd/testbed imports it (depguard).
package e2erun
