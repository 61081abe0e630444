package config

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"

	"github.com/BurntSushi/toml"
)

// Diff lists the keys whose values differ between a and b, as dotted
// names ("limits.max_connections"), sorted: what a reload has to apply
// or to refuse.
func Diff(a, b *Config) []string {
	ma, mb := flatten(a), flatten(b)
	var keys []string
	for k, v := range ma {
		if w, ok := mb[k]; !ok || !reflect.DeepEqual(v, w) {
			keys = append(keys, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// flatten maps every key of c's TOML form to its value. A table array
// (ftp.passive_override) counts as one key.
func flatten(c *Config) map[string]any {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		panic(fmt.Sprintf("config: encode: %v", err)) // a Config always encodes
	}
	var m map[string]any
	if _, err := toml.Decode(b.String(), &m); err != nil {
		panic(fmt.Sprintf("config: decode own encoding: %v", err))
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out
}
