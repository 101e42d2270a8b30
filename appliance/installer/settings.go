package installer

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"joren/appliance/config"
)

// Setting is one line of the configuration summary.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Redacted replaces a secret's value on the page.
const Redacted = "[redacted]"

// ConfigSettings lists every key of cfg with its value, in the order of
// the configuration file, secrets redacted.
func ConfigSettings(cfg config.Config) []Setting {
	var out []Setting
	v := reflect.ValueOf(cfg)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		section := yamlName(t.Field(i))
		st := t.Field(i).Type
		for j := 0; j < st.NumField(); j++ {
			out = append(out, Setting{
				Key:   section + "." + yamlName(st.Field(j)),
				Value: fmt.Sprint(v.Field(i).Field(j).Interface()),
			})
		}
	}
	return redactAll(out)
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// secretWords mark a key whose value is a secret itself. A key ending in
// _file names where a secret is kept: the path is shown, it helps the
// installer and says nothing of the secret.
var secretWords = []string{"password", "passwd", "secret", "token", "passphrase", "credential"}

// redact hides what a setting must not show: the value of a secret key,
// and the password of a URL (rtsp://user:password@camera/).
func redact(s Setting) Setting {
	last := strings.ToLower(s.Key[strings.LastIndex(s.Key, ".")+1:])
	if s.Value != "" && !strings.HasSuffix(last, "_file") && !strings.HasSuffix(last, "_path") {
		for _, w := range secretWords {
			if strings.Contains(last, w) {
				s.Value = Redacted
				return s
			}
		}
		if last == "key" || strings.HasSuffix(last, "_key") {
			s.Value = Redacted
			return s
		}
	}
	if i := strings.LastIndex(s.Value, "@"); i > 0 {
		if u, err := url.Parse(s.Value); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				// Redacted writes the password as "xxxxx".
				s.Value = strings.Replace(u.Redacted(), ":xxxxx@", ":"+Redacted+"@", 1)
			}
		} else if !strings.Contains(s.Value, "://") && strings.Contains(s.Value[:i], ":") {
			// Not a URL with a host, but it may still be
			// user:password@host: show only the host.
			s.Value = Redacted + s.Value[i:]
		}
	}
	return s
}

func redactAll(in []Setting) []Setting {
	out := make([]Setting, len(in))
	for i, s := range in {
		out[i] = redact(s)
	}
	return out
}
