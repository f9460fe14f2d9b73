package devserver

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

const (
	clusterName = "active"
	storeName   = "sqlite-default"
)

// DevDynamicConfig returns the dynamic config values Start sets, before
// Options.DynamicConfig is applied on top. They follow the official dev server
// (`temporal server start-dev`) where it matters for a single-node, local
// setup: changes to search attributes and Nexus endpoints are visible
// immediately, and the persistence rate limits are raised because of that.
func DevDynamicConfig() map[string]any {
	return map[string]any{
		// Read search attributes from the database on every use instead of a
		// cache refreshed every minute, so that attributes registered at
		// startup are usable at once. It costs a database read on every
		// start, upsert and visibility write (a fifth of the server's
		// throughput on SQLite), so Start turns it off again once every
		// service's cache must have seen the registered attributes (see
		// searchAttributeSettle), unless Options.DynamicConfig sets it.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key().String(): true,
		// Same for Nexus endpoints.
		dynamicconfig.ForceNexusEndpointRefreshOnRead.Key().String(): true,
		// The two settings above cost persistence calls; raise the limits as
		// the official dev server does (keeping the default ratio).
		dynamicconfig.FrontendPersistenceMaxQPS.Key().String(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key().String():  45000,
		// Host-level mutable state cache. The official dev server keeps
		// 8096; Riposte's worker keeps 1,000 runs in its sticky cache, and
		// a run parked at a gate for hours need not stay in either: its
		// decision reloads it from SQLite (riposte bench, 4,000 parked:
		// 8096 -> 2048: 752 -> 652 MiB RSS, decisions not slower; 10,000
		// parked, 2048 -> 1024 with the sticky cache 2,000 -> 1,000:
		// 698 -> 476 MiB). A run takes two entries (its own and its
		// workflow id's current-run lock), so at 70 runs/s the cache holds
		// about 7 s of runs and closed runs' workflow task timeouts reload
		// them from SQLite; 2,048, and 4,096 with a sticky cache of 500,
		// measured no cheaper per Riposte run (BENCHMARKS.md).
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key().String(): 1024,
		// The UI and tests list workflows a lot.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key().String(): 100,
		// Workflow Update (already on by default in this server version; set
		// explicitly because playbooks rely on it).
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key().String():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key().String(): true,
		// Budget guards take one batched Update per worker process at a
		// time; the default of 10 in flight per workflow would cap a
		// deployment at 10 worker processes (deploy/temporal/dynamicconfig.yaml).
		dynamicconfig.WorkflowExecutionMaxInFlightUpdates.Key().String(): 100,
	}
}

// dynamicConfigValues merges DevDynamicConfig with Options.DynamicConfig,
// the caller's values winning. Keys are compared as the server compares
// them, without case: the server's own key names are lower case
// ("history.hostlevelcachemaxsize") and callers write them as documented
// ("history.hostLevelCacheMaxSize"); compared as given, both would stay in
// the map and the one applied last would win.
func dynamicConfigValues(opts Options) map[string]any {
	dc := map[string]any{}
	for k, v := range DevDynamicConfig() {
		dc[dynamicconfig.MakeKey(k).String()] = v
	}
	// Sorted, so that one key given twice in different cases resolves the
	// same way every time.
	for _, k := range slices.Sorted(maps.Keys(opts.DynamicConfig)) {
		dc[dynamicconfig.MakeKey(k).String()] = opts.DynamicConfig[k]
	}
	return dc
}

// callerSets reports whether Options.DynamicConfig sets key, in any case.
func callerSets(opts Options, key dynamicconfig.Key) bool {
	for k := range opts.DynamicConfig {
		if dynamicconfig.MakeKey(k) == key {
			return true
		}
	}
	return false
}

// serverOptions assembles the temporal.ServerOption list for one node running
// all services in process.
func serverOptions(opts Options, ports portSet, sqlCfg *config.SQL, frontendAddr, httpAddr string, logger *serverLogger, dcClient *dynamicconfig.MemoryClient) []temporal.ServerOption {
	conf := &config.Config{}

	// Static membership: each service has exactly one host, this process. No
	// gossip ring (and so no membership ports) is needed.
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = loopbackIP
	// No metrics endpoint, no pprof.
	conf.Global.Metrics = nil
	conf.Global.PProf.Port = 0

	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = storeName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{storeName: {SQL: sqlCfg}}

	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            httpAddr,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: ports.frontend, HTTPPort: ports.http, BindOnIP: opts.IP}},
		string(primitives.HistoryService):  {RPC: config.RPC{GRPCPort: ports.history, BindOnIP: loopbackIP}},
		string(primitives.MatchingService): {RPC: config.RPC{GRPCPort: ports.matching, BindOnIP: loopbackIP}},
		string(primitives.WorkerService):   {RPC: config.RPC{GRPCPort: ports.worker, BindOnIP: loopbackIP}},
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr

	hostPort := func(port int) string { return net.JoinHostPort(loopbackIP, strconv.Itoa(port)) }

	dc := dynamicConfigValues(opts)
	for _, k := range slices.Sorted(maps.Keys(dc)) {
		dcClient.OverrideValue(dynamicconfig.MakeKey(k), dc[k])
	}

	return []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontendAddr),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(ports.history)),
			primitives.MatchingService: static.SingleLocalHost(hostPort(ports.matching)),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(ports.worker)),
		}),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dcClient),
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
	}
}
