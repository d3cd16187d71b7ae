package standin

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestAnInputChangeReplacesAndEqualSecretsDoNot(t *testing.T) {
	secret := resource.MakeSecret(resource.NewStringProperty("pem"))
	if _, changed := inputChange(secret, resource.NewStringProperty("pem")); changed {
		t.Fatal("same content, secret or not, must not be a change")
	}
	kind, changed := inputChange(resource.NewNumberProperty(2048), resource.NewNumberProperty(4096))
	if !changed || kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("want update-replace, got %v %v", kind, changed)
	}
}

func TestAnUnknownInputIsAlwaysAChange(t *testing.T) {
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	if _, changed := inputChange(unknown, unknown); !changed {
		t.Fatal("an unknown value must count as a change")
	}
}

func TestSecretOutputsAreMarkedSecret(t *testing.T) {
	props := resource.PropertyMap{"result": resource.NewStringProperty("x"), "id": resource.NewStringProperty("y")}
	markSecrets(props, []string{"result", "absent"})
	if !props["result"].IsSecret() || props["id"].IsSecret() {
		t.Fatalf("want only result secret: %v", props)
	}
	if _, added := props["absent"]; added {
		t.Fatal("markSecrets must not add properties")
	}
}
