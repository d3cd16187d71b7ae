// Package standin serves a few resource types over Pulumi's resource-provider protocol, for the
// end-to-end tests only. Resources are logical (they live in the Pulumi state): Create computes
// outputs, Delete forgets them, and any input change replaces the resource.
package standin

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// GuardVariable must be "1" for a stand-in to start: outside the test session it refuses to run.
const GuardVariable = "OPENALGO_E2E_STAND_INS"

// Marker is embedded in every stand-in binary; the tests search for it to tell a stand-in from
// the real provider.
const Marker = "openalgo-e2e-stand-in-provider"

// Failure is one invalid input, reported by Check.
type Failure struct {
	Property string
	Reason   string
}

// Result is what Create computed: the resource's id and its computed outputs.
type Result struct {
	ID      string
	Outputs resource.PropertyMap
}

// Type describes one resource type of a stand-in provider.
type Type struct {
	Token    string
	Inputs   []string             // accepted input properties, camelCase as in the real schema
	Required []string             // inputs that must be set
	Defaults resource.PropertyMap // output values of unset inputs
	Computed []string             // outputs the provider computes (unknown in a preview)
	Secret   []string             // outputs returned as secrets
	Validate func(Props) []Failure
	Create   func(Props) (Result, error)
	// Refresh recomputes time-dependent outputs (a certificate's readyForRenewal) on read.
	Refresh func(state Props) resource.PropertyMap
	// Expired reports whether the existing state must be replaced regardless of inputs.
	Expired func(state Props) bool
}

// Provider implements the resource-provider gRPC service for a set of types.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	name    string
	version string
	types   map[string]Type
}

// Main starts the provider the way the Pulumi engine launches plugins.
func Main(name, version string, types ...Type) {
	if os.Getenv(GuardVariable) != "1" {
		fmt.Fprintf(os.Stderr,
			"pulumi-resource-%s: this binary is a test stand-in (%s) from the openalgo-cockroachdb "+
				"test suite, not the real %s provider; it runs only inside those tests (%s=1). "+
				"Remove it from your plugins and install the real one with "+
				"`pulumi plugin install resource %s %s`.\n",
			name, Marker, name, GuardVariable, name, version)
		os.Exit(1)
	}
	served := &Provider{name: name, version: version, types: map[string]Type{}}
	for _, t := range types {
		served.types[t.Token] = t
	}
	err := provider.Main(name, func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return served, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s: %v\n", name, err)
		os.Exit(1)
	}
}

var (
	readOptions  = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
	writeOptions = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}
)

func (p *Provider) typeOf(typ, urn string) (Type, error) {
	if typ == "" {
		typ = string(resource.URN(urn).Type())
	}
	t, ok := p.types[typ]
	if !ok {
		known := make([]string, 0, len(p.types))
		for token := range p.types {
			known = append(known, token)
		}
		slices.Sort(known)
		return Type{}, fmt.Errorf("%s stand-in: resource type %q is not implemented; implemented: %s",
			p.name, typ, strings.Join(known, ", "))
	}
	return t, nil
}

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{
		Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, p.name, p.version),
	}, nil
}

func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t, err := p.typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), readOptions)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	add := func(f Failure) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	for _, key := range news.StableKeys() {
		if !slices.Contains(t.Inputs, string(key)) {
			add(Failure{string(key), fmt.Sprintf("not supported by the %s test stand-in; supported: %s",
				t.Token, strings.Join(t.Inputs, ", "))})
		}
	}
	props := Props(news)
	for _, key := range t.Required {
		if !props.Set(key) {
			add(Failure{key, "required"})
		}
	}
	if t.Validate != nil {
		for _, f := range t.Validate(props) {
			add(f)
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	t, err := p.typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := plugin.UnmarshalProperties(req.GetOlds(), readOptions)
	if err != nil {
		return nil, err
	}
	olds := state
	if req.GetOldInputs() != nil {
		if olds, err = plugin.UnmarshalProperties(req.GetOldInputs(), readOptions); err != nil {
			return nil, err
		}
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), readOptions)
	if err != nil {
		return nil, err
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var replaces []string
	for _, key := range t.Inputs {
		kind, changed := inputChange(olds[resource.PropertyKey(key)], news[resource.PropertyKey(key)])
		if changed {
			replaces = append(replaces, key)
			detailed[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		}
	}
	if t.Expired != nil && t.Expired(Props(state)) {
		replaces = append(replaces, "readyForRenewal")
		detailed["readyForRenewal"] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(replaces) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes:         changes,
		Replaces:        replaces,
		Diffs:           replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

// inputChange compares one input; an unknown value is always a change.
func inputChange(old, new resource.PropertyValue) (pulumirpc.PropertyDiff_Kind, bool) {
	oldSet, newSet := old.HasValue(), new.HasValue()
	switch {
	case !oldSet && !newSet:
		return 0, false
	case !oldSet:
		return pulumirpc.PropertyDiff_ADD_REPLACE, true
	case !newSet:
		return pulumirpc.PropertyDiff_DELETE_REPLACE, true
	case old.ContainsUnknowns() || new.ContainsUnknowns():
		return pulumirpc.PropertyDiff_UPDATE_REPLACE, true
	case !reveal(old).DeepEquals(reveal(new)):
		return pulumirpc.PropertyDiff_UPDATE_REPLACE, true
	}
	return 0, false
}

func (p *Provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	t, err := p.typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), readOptions)
	if err != nil {
		return nil, err
	}
	outputs := inputs.Copy()
	for key, value := range t.Defaults {
		if !outputs[key].HasValue() {
			outputs[key] = value
		}
	}
	id := ""
	if req.GetPreview() {
		for _, key := range t.Computed {
			outputs[resource.PropertyKey(key)] = resource.MakeComputed(resource.NewStringProperty(""))
		}
	} else {
		if inputs.ContainsUnknowns() {
			return nil, fmt.Errorf("%s: inputs still unknown at create", req.GetUrn())
		}
		computed, createErr := t.Create(Props(outputs))
		if createErr != nil {
			return nil, fmt.Errorf("%s: %w", req.GetUrn(), createErr)
		}
		id = computed.ID
		for key, value := range computed.Outputs {
			outputs[key] = value
		}
	}
	markSecrets(outputs, t.Secret)
	marshaled, err := plugin.MarshalProperties(outputs, writeOptions)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: marshaled}, nil
}

func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	t, err := p.typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := plugin.UnmarshalProperties(req.GetProperties(), readOptions)
	if err != nil {
		return nil, err
	}
	if t.Refresh != nil {
		for key, value := range t.Refresh(Props(state)) {
			state[key] = value
		}
	}
	markSecrets(state, t.Secret)
	marshaled, err := plugin.MarshalProperties(state, writeOptions)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: marshaled, Inputs: req.GetInputs()}, nil
}

func (p *Provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return nil, fmt.Errorf("%s: the %s stand-in replaces on every input change; update is not expected",
		req.GetUrn(), p.name)
}

func (p *Provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func markSecrets(props resource.PropertyMap, keys []string) {
	for _, key := range keys {
		value, ok := props[resource.PropertyKey(key)]
		if ok && value.HasValue() && !value.IsSecret() {
			props[resource.PropertyKey(key)] = resource.MakeSecret(value)
		}
	}
}
