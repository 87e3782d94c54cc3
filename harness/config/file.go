package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Sources of a setting's value, as `ambient-e2e env` prints them.
const (
	SourceDefault = "default"
	SourceEnv     = "env"
	sourceFile    = "file "
)

// Load reads the settings: each variable's default, overridden by the
// config file at path (YAML, keys as in Variables; "" = no file),
// overridden by a non-empty environment variable (Gateway API's
// --conformance-options-file pattern: the file is the record of a run,
// variables are the quick change). Unknown keys and values of the wrong
// type in the file are errors that name them; so are invalid values.
func Load(path string, lookup func(string) (string, bool)) (*Config, error) {
	file := map[string]string{}
	if path != "" {
		var err error
		if file, err = ReadFile(path); err != nil {
			return nil, err
		}
	}
	env := func(k string) (string, bool) {
		v, ok := lookup(k)
		return v, ok && strings.TrimSpace(v) != ""
	}
	c, err := FromLookup(func(k string) (string, bool) {
		if v, ok := env(k); ok {
			return v, true
		}
		if v, ok := file[k]; ok {
			return v, true
		}
		return lookup(k) // HOME, XDG_CACHE_HOME: not settings
	})
	if c != nil {
		c.ConfigFile = path
		c.Sources = map[string]string{}
		for _, v := range Variables {
			switch _, inFile := file[v.Name]; {
			case isSet(env, v.Name):
				c.Sources[v.Name] = SourceEnv
			case inFile:
				c.Sources[v.Name] = sourceFile + path
			default:
				c.Sources[v.Name] = SourceDefault
			}
		}
	}
	if err != nil && path != "" {
		err = fmt.Errorf("settings (config file %s, then the environment): %w", path, err)
	}
	return c, err
}

func isSet(env func(string) (string, bool), k string) bool { _, ok := env(k); return ok }

// ReadFile reads a config file into variable name → value text. It fails,
// naming every problem, on a file that is not YAML, unknown keys (with the
// known key it resembles), and values of the wrong type: a duration or a
// version must be a string ("90s", "1.30": unquoted 1.30 is the number
// 1.3), a switch a boolean, a count an integer.
func ReadFile(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("config file %s is not YAML: %w", path, err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("config file %s: want a mapping of settings (key: value): %w", path, err)
	}
	flat := map[string]any{}
	for k, v := range doc {
		if m, ok := v.(map[string]any); ok && k == "implementation" {
			for sk, sv := range m {
				flat[k+"."+sk] = sv
			}
			continue
		}
		flat[k] = v
	}
	byKey := map[string]Variable{}
	for _, v := range Variables {
		byKey[v.Key] = v
	}
	out := map[string]string{}
	var errs []error
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, known := byKey[k]
		if !known {
			errs = append(errs, fmt.Errorf("unknown key %q%s", k, suggest(k, byKey)))
			continue
		}
		s, err := scalar(flat[k], v.Kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		out[v.Name] = s
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config file %s: %w", path, errors.Join(errs...))
	}
	return out, nil
}

// scalar renders a decoded YAML value as the text its variable would hold,
// checking its type.
func scalar(v any, kind Kind) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", errors.New("no value (leave the key out for the default)")
	case string:
		if kind == KindInt {
			return "", fmt.Errorf("want an integer, got the string %q", x)
		}
		if kind == KindBool {
			if _, err := strconv.ParseBool(x); err != nil {
				return "", fmt.Errorf("want true or false, got %q", x)
			}
		}
		return x, nil
	case bool:
		if kind != KindBool {
			return "", fmt.Errorf("want a %s, got the boolean %v", kind, x)
		}
		if x {
			return "1", nil
		}
		return "0", nil
	case json.Number:
		switch kind {
		case KindInt:
			if _, err := x.Int64(); err != nil {
				return "", fmt.Errorf("want an integer, got %s", x)
			}
			return x.String(), nil
		case KindBool:
			if x == "0" || x == "1" {
				return x.String(), nil
			}
			return "", fmt.Errorf("want true or false, got the number %s", x)
		case KindDuration:
			return "", fmt.Errorf("want a duration string such as \"90s\" or \"5m\", got the number %s", x)
		default:
			return "", fmt.Errorf("want a string, got a number (YAML reads it as %s): quote the value", x)
		}
	default:
		return "", fmt.Errorf("want a %s, got %T", kind, v)
	}
}

// suggest names the known key an unknown one most likely meant.
func suggest(k string, known map[string]Variable) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(s))
	}
	for key, v := range known {
		if norm(key) == norm(k) || norm(v.Name) == norm(k) {
			return fmt.Sprintf(" (did you mean %q?)", key)
		}
	}
	return " (see `ambient-e2e env` for the settings)"
}
