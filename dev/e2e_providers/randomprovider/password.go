// Package randomprovider stands in for pulumi-random's RandomPassword in the e2e tests.
package randomprovider

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/bcrypt"

	"openalgo.invalid/e2e-providers/standin"
)

const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	// The special characters the real provider uses unless overrideSpecial is set.
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// Password is random:index/randomPassword:RandomPassword.
var Password = standin.Type{
	Token: "random:index/randomPassword:RandomPassword",
	Inputs: []string{
		"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
		"number", "numeric", "overrideSpecial", "special", "upper",
	},
	Required: []string{"length"},
	Defaults: resource.PropertyMap{
		"lower": resource.NewBoolProperty(true), "upper": resource.NewBoolProperty(true),
		"numeric": resource.NewBoolProperty(true), "number": resource.NewBoolProperty(true),
		"special": resource.NewBoolProperty(true), "minLower": resource.NewNumberProperty(0),
		"minUpper": resource.NewNumberProperty(0), "minNumeric": resource.NewNumberProperty(0),
		"minSpecial": resource.NewNumberProperty(0),
	},
	Computed: []string{"result", "bcryptHash"},
	Secret:   []string{"result", "bcryptHash"},
	Validate: validate,
	Create:   create,
}

func validate(p standin.Props) []standin.Failure {
	var failures []standin.Failure
	for _, key := range []string{"lower", "upper", "numeric", "number", "special"} {
		failures = append(failures, p.CheckType(key, "bool")...)
	}
	for _, key := range []string{"length", "minLower", "minUpper", "minNumeric", "minSpecial"} {
		failures = append(failures, p.CheckType(key, "integer")...)
	}
	failures = append(failures, p.CheckType("overrideSpecial", "string")...)
	failures = append(failures, p.CheckType("keepers", "map of strings")...)
	failures = append(failures, p.CheckAtLeast("length", 1)...)
	for _, key := range []string{"minLower", "minUpper", "minNumeric", "minSpecial"} {
		failures = append(failures, p.CheckAtLeast(key, 0)...)
	}
	if !p.Known("length") {
		return failures
	}
	for _, key := range []string{"minLower", "minUpper", "minNumeric", "minSpecial"} {
		if p.Set(key) && !p.Known(key) {
			return failures
		}
	}
	if minimum := p.Int("minLower") + p.Int("minUpper") + p.Int("minNumeric") + p.Int("minSpecial"); minimum > p.Int("length") {
		failures = append(failures, standin.Failure{Property: "length", Reason: fmt.Sprintf(
			"%d is not allowed: must be >= minLower + minUpper + minNumeric + minSpecial (%d)",
			p.Int("length"), minimum)})
	}
	return failures
}

// charset is one class of characters with the minimum count the password must hold.
type charset struct {
	chars   string
	minimum int
}

func classes(p standin.Props) []charset {
	var sets []charset
	if p.Bool("lower") {
		sets = append(sets, charset{lowerChars, p.Int("minLower")})
	}
	if p.Bool("upper") {
		sets = append(sets, charset{upperChars, p.Int("minUpper")})
	}
	if p.Bool("numeric") && p.Bool("number") {
		sets = append(sets, charset{numericChars, p.Int("minNumeric")})
	}
	if p.Bool("special") {
		special := specialChars
		if p.Set("overrideSpecial") {
			special = p.String("overrideSpecial")
		}
		if special != "" {
			sets = append(sets, charset{special, p.Int("minSpecial")})
		}
	}
	return sets
}

// generate draws a password of length characters from the enabled classes, meeting each class's
// minimum, from crypto/rand.
func generate(length int, sets []charset) (string, error) {
	if len(sets) == 0 {
		return "", fmt.Errorf("no character class is enabled (lower, upper, numeric, special)")
	}
	var all strings.Builder
	var picked []byte
	for _, set := range sets {
		all.WriteString(set.chars)
		for range set.minimum {
			c, err := pick(set.chars)
			if err != nil {
				return "", err
			}
			picked = append(picked, c)
		}
	}
	for len(picked) < length {
		c, err := pick(all.String())
		if err != nil {
			return "", err
		}
		picked = append(picked, c)
	}
	for i := len(picked) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		picked[i], picked[j.Int64()] = picked[j.Int64()], picked[i]
	}
	return string(picked), nil
}

func pick(chars string) (byte, error) {
	index, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
	if err != nil {
		return 0, err
	}
	return chars[index.Int64()], nil
}

func create(p standin.Props) (standin.Result, error) {
	password, err := generate(p.Int("length"), classes(p))
	if err != nil {
		return standin.Result{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return standin.Result{}, fmt.Errorf("bcryptHash: %w", err)
	}
	return standin.Result{
		ID: "none",
		Outputs: resource.PropertyMap{
			"result":     resource.NewStringProperty(password),
			"bcryptHash": resource.NewStringProperty(string(hash)),
		},
	}, nil
}
