package standin

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Props reads resource properties with secrets unwrapped. Unknown values (a preview) count as
// set but are never judged by validation.
type Props resource.PropertyMap

func (p Props) raw(key string) resource.PropertyValue {
	return reveal(resource.PropertyMap(p)[resource.PropertyKey(key)])
}

// Keys lists the property names, sorted.
func (p Props) Keys() []string {
	var keys []string
	for _, key := range resource.PropertyMap(p).StableKeys() {
		keys = append(keys, string(key))
	}
	return keys
}

// Set reports whether key has a value (possibly still unknown).
func (p Props) Set(key string) bool { return p.raw(key).HasValue() }

// Known reports whether key has a value that is fully known.
func (p Props) Known(key string) bool {
	value := p.raw(key)
	return value.HasValue() && !value.ContainsUnknowns()
}

func (p Props) String(key string) string {
	if value := p.raw(key); value.IsString() {
		return value.StringValue()
	}
	return ""
}

func (p Props) Bool(key string) bool {
	value := p.raw(key)
	return value.IsBool() && value.BoolValue()
}

func (p Props) Int(key string) int {
	if value := p.raw(key); value.IsNumber() {
		return int(value.NumberValue())
	}
	return 0
}

func (p Props) Strings(key string) []string {
	value := p.raw(key)
	if !value.IsArray() {
		return nil
	}
	var items []string
	for _, item := range value.ArrayValue() {
		if item = reveal(item); item.IsString() {
			items = append(items, item.StringValue())
		}
	}
	return items
}

func (p Props) Object(key string) Props {
	if value := p.raw(key); value.IsObject() {
		return Props(value.ObjectValue())
	}
	return Props{}
}

// CheckType reports a failure when a known value of key is not of the expected kind
// ("string", "bool", "integer", "list of strings", "object", "map of strings").
func (p Props) CheckType(key, kind string) []Failure {
	value := p.raw(key)
	if !value.HasValue() || value.ContainsUnknowns() {
		return nil
	}
	ok := false
	switch kind {
	case "string":
		ok = value.IsString()
	case "bool":
		ok = value.IsBool()
	case "integer":
		ok = value.IsNumber() && value.NumberValue() == math.Trunc(value.NumberValue())
	case "list of strings":
		ok = value.IsArray() && allStrings(value.ArrayValue())
	case "map of strings":
		ok = value.IsObject() && allStrings(slices.Collect(maps.Values(value.ObjectValue())))
	case "object":
		ok = value.IsObject()
	}
	if ok {
		return nil
	}
	return []Failure{{key, fmt.Sprintf("%v is not allowed: must be a %s", value.Mappable(), kind)}}
}

// CheckOneOf reports a failure when a known string value of key is not one of allowed.
func (p Props) CheckOneOf(key string, allowed ...string) []Failure {
	if !p.Known(key) || !p.raw(key).IsString() || slices.Contains(allowed, p.String(key)) {
		return nil
	}
	return []Failure{{key, fmt.Sprintf("%q is not allowed: use one of %s",
		p.String(key), strings.Join(allowed, ", "))}}
}

// CheckAtLeast reports a failure when a known integer value of key is below minimum.
func (p Props) CheckAtLeast(key string, minimum int) []Failure {
	if !p.Known(key) || !p.raw(key).IsNumber() || p.Int(key) >= minimum {
		return nil
	}
	return []Failure{{key, fmt.Sprintf("%d is not allowed: must be >= %d", p.Int(key), minimum)}}
}

func allStrings(values []resource.PropertyValue) bool {
	for _, value := range values {
		if value = reveal(value); !value.IsString() && !value.ContainsUnknowns() {
			return false
		}
	}
	return true
}

// reveal strips secret markers, deeply, so values compare and read by content.
func reveal(value resource.PropertyValue) resource.PropertyValue {
	switch {
	case value.IsSecret():
		return reveal(value.SecretValue().Element)
	case value.IsOutput() && value.OutputValue().Known:
		return reveal(value.OutputValue().Element)
	case value.IsArray():
		items := make([]resource.PropertyValue, 0, len(value.ArrayValue()))
		for _, item := range value.ArrayValue() {
			items = append(items, reveal(item))
		}
		return resource.NewArrayProperty(items)
	case value.IsObject():
		object := resource.PropertyMap{}
		for key, item := range value.ObjectValue() {
			object[key] = reveal(item)
		}
		return resource.NewObjectProperty(object)
	}
	return value
}
