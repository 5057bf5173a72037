// The test cluster's DNS: CoreDNS with only the plugins a cluster DNS needs (the kubernetes
// plugin answering <service>.<namespace>.svc.cluster.local from the apiserver, errors, ready),
// so the build pulls neither the cloud providers' SDKs nor the other plugins of a full CoreDNS.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order the plugins run in for each query (CoreDNS takes it from this list, not the Corefile).
var directives = []string{"errors", "ready", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
