package randomprovider

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"openalgo.invalid/e2e-providers/standin"
)

func TestGenerateMeetsEveryMinimumAndUsesOnlyEnabledClasses(t *testing.T) {
	sets := []charset{{lowerChars, 3}, {numericChars, 5}}
	for range 50 {
		password, err := generate(12, sets)
		if err != nil {
			t.Fatal(err)
		}
		if len(password) != 12 || strings.Trim(password, numericChars+lowerChars) != "" {
			t.Fatalf("%q: want 12 characters, all lower-case letters or digits", password)
		}
		if n := len(strings.Map(keepIn(numericChars), password)); n < 5 {
			t.Fatalf("%q: %d digits, want >= 5", password, n)
		}
		if n := len(strings.Map(keepIn(lowerChars), password)); n < 3 {
			t.Fatalf("%q: %d lower-case letters, want >= 3", password, n)
		}
	}
}

func keepIn(chars string) func(rune) rune {
	return func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return r
		}
		return -1
	}
}

func TestClassesFollowTheProgramsSpecialFalse(t *testing.T) {
	props := standin.Props(resource.PropertyMap{"special": resource.NewBoolProperty(false)}.Copy())
	for key, value := range Password.Defaults {
		if _, set := props[key]; !set {
			props[key] = value
		}
	}
	for _, set := range classes(props) {
		if strings.ContainsAny(set.chars, specialChars) {
			t.Fatalf("special characters enabled with special=false: %q", set.chars)
		}
	}
}

func TestValidateRefusesMinimumsLongerThanTheLength(t *testing.T) {
	failures := validate(standin.Props{
		"length": resource.NewNumberProperty(4), "minUpper": resource.NewNumberProperty(3),
		"minNumeric": resource.NewNumberProperty(2),
	})
	if len(failures) != 1 || failures[0].Property != "length" {
		t.Fatalf("want one failure on length, got %v", failures)
	}
}
