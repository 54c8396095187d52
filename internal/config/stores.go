package config

import (
	"reflect"
	"strings"
)

// StorePart is what config knows of one store part: the key of its
// metadata path, the switch that turns it on and its path below the Core
// URL. store.Parts describes every part; cli hands them to Config.Stores,
// so that deriving and validating the Core paths follows that one table.
type StorePart struct {
	// Name names the part in messages for people ("sites").
	Name string
	// PathKey is the config key of the metadata path ("sites_metadata_path").
	PathKey string
	// Switch is the boolean config key that turns the part on in Core
	// mode; "" means always on.
	Switch string
	// CorePath is the metadata path below the Core URL ("/sites/refresh").
	CorePath string
	// PublicOnly parts are refused to private operators by Core (403).
	PublicOnly bool
}

// fieldIndex maps every JSON name of Config to its field index.
var fieldIndex = func() map[string]int {
	t := reflect.TypeFor[Config]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}()

// value returns the field whose JSON name is key, or an invalid Value.
func (c *Config) value(key string) reflect.Value {
	i, ok := fieldIndex[key]
	if !ok {
		return reflect.Value{}
	}
	return reflect.ValueOf(c).Elem().Field(i)
}

// Text returns the value of the text key ("" for an unknown or non-text key).
func (c *Config) Text(key string) string {
	if v := c.value(key); v.IsValid() && v.Kind() == reflect.String {
		return v.String()
	}
	return ""
}

// Int returns the value of the integer key (0 for an unknown or
// non-integer key).
func (c *Config) Int(key string) int64 {
	if v := c.value(key); v.IsValid() && v.CanInt() {
		return v.Int()
	}
	return 0
}

// Bool returns the value of the switch key (false for an unknown or
// non-boolean key).
func (c *Config) Bool(key string) bool {
	if v := c.value(key); v.IsValid() && v.Kind() == reflect.Bool {
		return v.Bool()
	}
	return false
}

// setTextDefault sets the text key to v when it is empty.
func (c *Config) setTextDefault(key, v string) {
	if f := c.value(key); f.IsValid() && f.Kind() == reflect.String && f.String() == "" {
		f.SetString(v)
	}
}

// StoreOn reports whether part is turned on (its switch is on, or it has none).
func (c *Config) StoreOn(part StorePart) bool {
	return part.Switch == "" || c.Bool(part.Switch)
}
