package matrix

// Test is one top-level Test function of e2e/ and the legs it runs on.
type Test struct {
	Name string
	Legs []string // leg names (the Leg* constants); each leg runs it in its go test run
	// Upgrade: the test replaces its leg's agent in place by UpgradeTo, so the leg's bed needs that
	// agent built too.
	Upgrade bool
	// Long: the test outlasts the agent's 10-minute address timer. It runs alone on a bed of its own
	// (TESTBED_ID=aw) beside the legs, with the versions of its one leg, never in that leg's run.
	Long bool
}

// Tests is the table of every e2e test and its legs, by name. A test of e2e/ missing here, or an
// entry whose function is gone, fails this package's test (TestEveryE2ETestIsDeclared).
func Tests() []Test {
	every := []string{LegCurrent, LegDebian, LegUpgrade, LegWalkthrough}
	full := []string{LegCurrent, LegDebian}
	fullAndSubset := []string{LegCurrent, LegDebian, LegUpgrade}
	fullAndWalkthrough := []string{LegCurrent, LegDebian, LegWalkthrough}
	// The compose stack on both engines: its agent is not privileged (compose/README.md, "The agent's
	// container"), which Docker 20.10 could not start where the bounding set lacks a capability.
	composeStack := []string{LegCurrent, LegDebian}
	// One full leg only: tests no issue pins to both full legs, each on the leg where what it proves can
	// fail (CI time: each full leg ran ~28 min for a 90 min limit).
	// The plugin's own resource use and the reconciler's cleanup are the same binary on every leg: the
	// current pair, the one users run. TestBursts' 100 on the stack's limits too: the 20.10 leg runs its
	// 100 on the agent's default limits (TestBurstUnderTheAgentsDefaultLimits), the same create queue
	// under the stricter limits.
	current := []string{LegCurrent}
	// Docker 20.10 sends a burst's creates all at once (29 serialises them per network): the agent's
	// default limits failed starts only there (issue 19 point 14, 25 of 100; 29.8.1 started 100 of 100
	// on the old binary), and a kill mid-burst finds the most creates in flight there. The plugin's
	// deadline on a frozen agent is the plugin's own on any engine.
	debian := []string{LegDebian}
	return []Test{
		{Name: "TestAddressWindowAcrossPluginRestart", Legs: []string{LegCurrent}, Long: true},
		{Name: "TestAgentDownFailsFast", Legs: fullAndSubset},
		{Name: "TestAgentRestartKeepsAddresses", Legs: fullAndSubset},
		{Name: "TestAgentUpgrade", Legs: []string{LegUpgrade}, Upgrade: true},
		{Name: "TestBinaryLifecycle", Legs: full},
		{Name: "TestBurstUnderTheAgentsDefaultLimits", Legs: debian},
		{Name: "TestBursts", Legs: current},
		{Name: "TestChurn", Legs: current},
		{Name: "TestCompose", Legs: full},
		{Name: "TestComposeStack", Legs: composeStack},
		{Name: "TestComposeStackAgentUpgrade", Legs: []string{LegUpgrade}, Upgrade: true},
		{Name: "TestComposeStackEtcdMembers", Legs: []string{LegCurrent}},
		{Name: "TestConnectDisconnect", Legs: full},
		{Name: "TestContainerNames", Legs: every},
		{Name: "TestDockerdRestartWithFreshPlugin", Legs: full},
		{Name: "TestEgressLabel", Legs: full},
		{Name: "TestFakeAgentContract", Legs: fullAndSubset},
		{Name: "TestFakeDockerContract", Legs: full}, // each engine of the matrix
		{Name: "TestFirstPacketsNotLost", Legs: full},
		{Name: "TestFlows", Legs: every},
		{Name: "TestFrozenAgent", Legs: debian},
		{Name: "TestIPv6Policy", Legs: full},
		{Name: "TestIPv6Restarts", Legs: full},
		{Name: "TestIPv6SingleNode", Legs: full},
		{Name: "TestIPv6TwoNodes", Legs: full},
		{Name: "TestIdentityGC", Legs: full},
		{Name: "TestImageLabelsAreNotIdentity", Legs: full},
		{Name: "TestImageLabelsDoNotChooseNamespace", Legs: full},
		{Name: "TestKillPluginMidBurst", Legs: debian},
		{Name: "TestLabelFilterAgreesWithTheAgent", Legs: full},
		{Name: "TestLabelsAppliedLater", Legs: fullAndSubset},
		{Name: "TestMacAddress", Legs: full},
		{Name: "TestManagedPlugin", Legs: full},
		{Name: "TestMultiHomedCrossNode", Legs: full},
		{Name: "TestNetworkRefusals", Legs: full},
		{Name: "TestNoPathToTheNodesLoopback", Legs: fullAndWalkthrough},
		{Name: "TestPluginRestart", Legs: fullAndSubset},
		{Name: "TestPolicyCommand", Legs: full},
		{Name: "TestPolicyIdentityLabels", Legs: every},
		{Name: "TestPolicyTwoNodes", Legs: full},
		{Name: "TestPublish", Legs: every},
		{Name: "TestPublishAllAndUDP", Legs: full},
		{Name: "TestPublishPluginRestart", Legs: full},
		{Name: "TestPublishPolicy", Legs: full},
		{Name: "TestPublishedPortsSurviveAnNftFlush", Legs: full},
		// A high defect of the review (the reconciler removed live containers of networks of another
		// driver name): its proof stays on both engines' network lists.
		{Name: "TestReconcilerKeepsOtherDriverNames", Legs: full},
		{Name: "TestReconcilerRemovesWhatDockerForgot", Legs: current},
		{Name: "TestSecondCiliumNetwork", Legs: full},
		{Name: "TestSingleNode", Legs: every},
		{Name: "TestStaticIPAndCleanup", Legs: full},
		{Name: "TestStatus", Legs: every},
		{Name: "TestToFQDNs", Legs: full},
		{Name: "TestTwoNodes", Legs: full},
	}
}
