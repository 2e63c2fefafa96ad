package bgp

import (
	"context"
	"fmt"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// localOnly is the policy that passes the paths this speaker originates.
const localOnly = "oo-local-only"

// setPolicies makes "announce only our pod CIDRs" a property of the
// speaker: export passes only local paths (never a learnt route: the node
// is no transit AS), import passes local paths and, with importLearnt,
// learnt ones (gobgp runs the import policy on local paths too).
// Equivalent to: `gobgp policy add oo-local-only ...; gobgp global policy
// export add oo-local-only default reject`.
func setPolicies(ctx context.Context, s *server.BgpServer, importLearnt bool) error {
	local := &api.Policy{Name: localOnly, Statements: []*api.Statement{{
		Name:       localOnly + "-accept",
		Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ACCEPT},
	}}}
	if err := s.AddPolicy(ctx, &api.AddPolicyRequest{Policy: local}); err != nil {
		return fmt.Errorf("adding BGP policy %s: %w", localOnly, err)
	}
	importDefault := api.RouteAction_REJECT
	if importLearnt {
		importDefault = api.RouteAction_ACCEPT
	}
	for dir, def := range map[api.PolicyDirection]api.RouteAction{
		api.PolicyDirection_EXPORT: api.RouteAction_REJECT,
		api.PolicyDirection_IMPORT: importDefault,
	} {
		err := s.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
			Name: "global", Direction: dir, Policies: []*api.Policy{{Name: localOnly}}, DefaultAction: def,
		}})
		if err != nil {
			return fmt.Errorf("assigning BGP %s policy: %w", dir, err)
		}
	}
	return nil
}
